"""The team's DAG policy as data: one rule per check, each returning Spanish violations.

Why this module exists: the day-1 suite turns every rule into one test per DAG file, and the
notebook shows the same rules as a table; keeping them here (pure functions over the report of
:mod:`opsbook.airflow.dag_inspect`) means both say exactly the same thing and the rules are
unit-testable without Airflow.
"""

from __future__ import annotations

import os
from collections.abc import Callable

DEFAULT_OWNERS = {"", "airflow", None}
MIN_RETRIES = 2
PARSE_BUDGET_CPU_S = float(os.environ.get("OPSBOOK_DAG_PARSE_BUDGET_S", "3.0"))
"""CPU seconds a DAG file's top-level code may take (the dag-processor re-runs it every
``min_file_process_interval`` seconds, forever). CPU time, not wall time, so a loaded host does
not make the check flaky. Override with ``OPSBOOK_DAG_PARSE_BUDGET_S``."""


def _owner(report: dict) -> list[str]:
    return [f"{d['dag_id']}.{tid}: owner {t['owner']!r} (pon default_args['owner'])"
            for d in report["dags"] for tid, t in d["tasks"].items()
            if t["owner"] in DEFAULT_OWNERS]


def _tags(report: dict) -> list[str]:
    return [f"{d['dag_id']}: sin tags" for d in report["dags"] if not d["tags"]]


def _retries(report: dict) -> list[str]:
    return [f"{d['dag_id']}.{tid}: retries={t['retries']} (< {MIN_RETRIES})"
            for d in report["dags"] for tid, t in d["tasks"].items()
            if (t["retries"] or 0) < MIN_RETRIES]


def find_cycle(downstream: dict[str, list[str]]) -> list[str] | None:
    """Return one cycle of a task graph (``task → downstream tasks``) or ``None``."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in downstream.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(downstream):
        if node not in state and (found := visit(node)):
            return found
    return None


def _no_cycles(report: dict) -> list[str]:
    out = []
    for d in report["dags"]:
        cycle = find_cycle({tid: t["downstream"] for tid, t in d["tasks"].items()})
        if cycle:
            out.append(f"{d['dag_id']}: ciclo {' → '.join(cycle)}")
    return out


def _catchup_explicit(report: dict) -> list[str]:
    if report.get("explicit_catchup") is True:
        return []
    return ["catchup no está explícito en la llamada a @dag/DAG (escribe catchup=False o True)"]


def _start_date_fixed(report: dict) -> list[str]:
    out = []
    for d in report["dags"]:
        if d["start_date"] != d.get("start_date_second_parse", d["start_date"]):
            out.append(f"{d['dag_id']}: start_date cambia entre parseos ({d['start_date']} → "
                       f"{d['start_date_second_parse']}): usa una fecha fija, no now()")
        elif d["start_date"] is None and d["schedule"] is not None:
            out.append(f"{d['dag_id']}: programado ({d['schedule']}) sin start_date")
    return out


def _no_parse_time_lookups(report: dict) -> list[str]:
    return [f"{kind}.get({key!r}) en el nivel superior: muévelo dentro de una tarea o usa "
            "plantillas {{ var.value.* }}" for kind, key in report["lookups"]]


RULES: dict[str, tuple[str, Callable[[dict], list[str]]]] = {
    "owner": ("Cada tarea tiene un owner del equipo (no 'airflow')", _owner),
    "tags": ("Cada DAG tiene al menos una etiqueta", _tags),
    "retries": (f"Cada tarea reintenta al menos {MIN_RETRIES} veces", _retries),
    "no_cycles": ("El grafo de tareas es acíclico", _no_cycles),
    "catchup_explicit": ("catchup está escrito explícitamente", _catchup_explicit),
    "start_date_fixed": ("start_date es una fecha fija", _start_date_fixed),
    "no_parse_time_lookups": ("Sin Variable/Connection al parsear", _no_parse_time_lookups),
}
"""Rule id → (Spanish description, check returning the violations of one file report)."""


def violations(report: dict, rule: str) -> list[str]:
    """Violations of ``rule`` in one file report, each prefixed with the file name.

    Raises:
        KeyError: unknown rule (Spanish message listing the known ones).
    """
    if rule not in RULES:
        raise KeyError(f"regla {rule!r} desconocida; reglas: {sorted(RULES)}")
    return [f"{report['file']}: {v}" for v in RULES[rule][1](report)]


def over_budget(report: dict, budget_s: float = PARSE_BUDGET_CPU_S) -> str | None:
    """Spanish message when the file's parse CPU time exceeds ``budget_s``, else ``None``."""
    cpu = report.get("parse_cpu_seconds")
    if cpu is None or cpu <= budget_s:
        return None
    return (f"{report['file']}: el código de nivel superior tarda {cpu:.2f} s de CPU "
            f"(presupuesto {budget_s:.2f} s): mueve imports pesados dentro de las tareas")
