"""Incident drills against the live stack: cause a real fault, let the runbook answer, measure.

Why this module exists: a runbook nobody exercised fails on the night it is needed. Each drill
injects one real fault (``kill -9`` of the scheduler, a corrupt landing file, the warehouse
refusing connections during a load), then only *observes*: the alert travels Prometheus →
Alertmanager → the stack's receiver → :func:`opsbook.incidents.runbook.on_notification`, and the
runbook inside the stack diagnoses and recovers. The drill records its own events next to the
incident's timeline, checks row counts (nothing lost) and writes the post-mortem. It refuses
to start on an unhealthy stack and always ends by putting the stack back or saying exactly
what is still broken. This module is the entry point (:func:`run`, :func:`save_evidence`); the
scripts of the scenarios live in :mod:`opsbook.incidents.drill_scenarios` and the machinery they
share (record, waits, precheck, ``kill -9`` with orphans reaped) in
:mod:`opsbook.incidents.drill_kit`.
"""

from __future__ import annotations

from typing import Any

from opsbook import evidence
from opsbook.incidents import delegated, drill_scenarios
from opsbook.incidents.drill_kit import (
    DAG_ID,
    Drill,
    DrillRefused,
    DrillResult,
    firing_alerts,
    precheck,
    restore_stack,
)

__all__ = ["DAG_ID", "DRILLS", "Drill", "DrillRefused", "DrillResult", "firing_alerts",
           "pipeline_down", "precheck", "restore_stack", "run", "save_evidence"]

DRILLS = ("pipeline_down", "data_corruption", "db_unreachable")


def run(name: str, **kwargs: Any) -> DrillResult:
    """Run one drill by name (see :data:`DRILLS`) and return its result.

    ``pipeline_down`` also takes ``actions`` (action name → a student's step) and ``owner``:
    see :mod:`opsbook.incidents.delegated`.

    Raises:
        ValueError: unknown drill (Spanish message).
        DrillRefused: the stack was not fit for a drill, or a student's step failed or
            changed something on the healthy stack (:func:`delegated.probe`).
    """
    if name not in DRILLS:
        raise ValueError(f"simulacro {name!r} desconocido: usa uno de {', '.join(DRILLS)}")
    if kwargs.get("actions") is not None:  # a student's steps: fail in a second, not a drill
        delegated.probe(kwargs["actions"])
    precheck(name)
    drill = Drill(name)
    try:
        return getattr(drill_scenarios, name)(drill, **kwargs)
    except Exception as exc:  # noqa: BLE001 - an aborted drill is still reported, never hidden
        drill.event("simulacro abortado", False, f"{type(exc).__name__}: {exc}")
        return drill.result(False, restore_stack())


def pipeline_down(**kwargs: Any) -> DrillResult:
    """Shortcut for the MTTR bench: one ``pipeline_down`` drill without the precheck."""
    return drill_scenarios.pipeline_down(Drill("pipeline_down"), **kwargs)


def save_evidence(result: DrillResult) -> dict[str, str]:
    """Write the drill's timeline JSON and its post-mortem into ``evidencia/dia_3/``.

    Returns:
        Kind → written path.
    """
    name = result.name
    timeline = {k: v for k, v in result.record().items() if k != "postmortem"}
    paths = {"timeline": str(evidence.save_json(
        3, f"timeline_{name}", timeline, f"Línea de tiempo del simulacro {name}"))}
    if result.postmortem:
        paths["post_mortem"] = str(evidence.save_text(
            3, f"post_mortem_{name}.md", result.postmortem,
            f"Post-mortem generado del simulacro {name}"))
    return paths
