"""A ledger of the DAG-level callbacks that ran: one JSON line per run (``run_id``, state, time).

Why this module exists: a DAG run turns ``success``/``failed`` in the metadata DB **before** its
DAG callback runs (the dag-processor runs it 1–2 s later, longer on a loaded machine), and only
the callback sends ``airflow_pipeline_dag_success``/``_failure``. Anything that reads metric
deltas per run (the day-2 notebook) must know that a run's callback has been *sent*, keyed by
the run itself rather than by a guessed delay. Airflow exposes no record of callback execution,
so the callback appends one line here right after emitting its metrics. Appends of one short
line are atomic on a local file system; a failure to write never breaks the callback.

The deadline (SLA) callback, run by the triggerer, appends a ``sla_missed`` line for the run it
counted: day 2's slow run waits for it (:func:`sla_missed`) instead of sleeping a fixed margin
past its deadline. Those lines are not DAG callbacks: :func:`recorded` skips them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from opsbook.settings import settings

SLA_MISSED = "sla_missed"
"""State of the line the deadline callback appends for a run it counted as an SLA violation."""


def _entries(dag_id: str) -> list[dict[str, Any]]:
    """The ledger's lines of one DAG, oldest first (lines cut by a crash are skipped)."""
    path = ledger_path()
    if not path.exists():
        return []
    entries = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError:  # a line cut by a crash mid-write
            continue
        if isinstance(entry, dict) and entry.get("dag_id") == dag_id and "run_id" in entry:
            entries.append(entry)
    return entries


def ledger_path() -> Path:
    """File of the ledger (under the stack's ``AIRFLOW_HOME``)."""
    return settings.airflow_home / "dag_callbacks.jsonl"


def record(dag_id: str, run_id: str, state: str) -> bool:
    """Append one callback record; returns False (and swallows the error) if it cannot.

    Args:
        dag_id: DAG of the run.
        run_id: the run whose callback just emitted its metrics.
        state: ``success`` or ``failed`` (DAG callbacks), or :data:`SLA_MISSED`.
    """
    line = json.dumps({"dag_id": dag_id, "run_id": run_id, "state": state, "at": time.time()})
    try:
        path = ledger_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError:
        return False
    return True


def recorded(dag_id: str) -> dict[str, dict[str, Any]]:
    """DAG callbacks recorded for a DAG, by ``run_id`` (the last record of a run wins).

    ``sla_missed`` lines are left out: a run whose deadline passed while it was still running
    has not ended, and its DAG callback is still to come.
    """
    return {e["run_id"]: e for e in _entries(dag_id) if e.get("state") != SLA_MISSED}


def sla_missed(dag_id: str, run_id: str) -> bool:
    """Whether the deadline callback counted this run as an SLA violation.

    Args:
        dag_id: DAG of the run.
        run_id: the run.
    """
    return any(e["run_id"] == run_id and e.get("state") == SLA_MISSED for e in _entries(dag_id))
