"""A ledger of the DAG-level callbacks that ran: one JSON line per run (``run_id``, state, time).

Why this module exists: a DAG run turns ``success``/``failed`` in the metadata DB **before** its
DAG callback runs (the dag-processor runs it 1–2 s later, longer on a loaded machine), and only
the callback sends ``airflow_pipeline_dag_success``/``_failure``. Anything that reads metric
deltas per run (the day-2 notebook) must know that a run's callback has been *sent*, keyed by
the run itself rather than by a guessed delay. Airflow exposes no record of callback execution,
so the callback appends one line here right after emitting its metrics. Appends of one short
line are atomic on a local file system; a failure to write never breaks the callback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from opsbook.settings import settings


def ledger_path() -> Path:
    """File of the ledger (under the stack's ``AIRFLOW_HOME``)."""
    return settings.airflow_home / "dag_callbacks.jsonl"


def record(dag_id: str, run_id: str, state: str) -> bool:
    """Append one callback record; returns False (and swallows the error) if it cannot.

    Args:
        dag_id: DAG of the run.
        run_id: the run whose callback just emitted its metrics.
        state: ``success`` or ``failed``.
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
    """Callbacks recorded for a DAG, by ``run_id`` (the last record of a run wins)."""
    path = ledger_path()
    if not path.exists():
        return {}
    found: dict[str, dict[str, Any]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError:  # a line cut by a crash mid-write
            continue
        if entry.get("dag_id") == dag_id:
            found[entry["run_id"]] = entry
    return found
