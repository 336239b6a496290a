"""Emission of the 14 catalog metrics of ``pipeline_ventas`` through Airflow's StatsD client.

Why this module exists: task code, the DAG callbacks and the deadline callback all send the
course metrics, always with the names of :mod:`opsbook.observability.catalog` (never a literal here)
and
with the Airflow 3.3 API ``airflow.sdk.observability.stats``. Kinds map to calls: counter →
``stats.incr``, gauge → ``stats.gauge``, timer → ``stats.timing`` in milliseconds.

Counters are born at 0: :func:`zero_counters` sends a 0-increment of every counter at the start
of each run, so each series exists with value 0 before any failure happens. Prometheus'
``increase()`` cannot see the first sample of a series, so a counter first scraped at 1 would
never make an ``increase(...) > 0`` alert fire (docs/convenciones.md
→ Señales).

Outside a task runner (DAG callbacks run in a child of the dag-processor, deadline callbacks
in the triggerer) the SDK stats module is not initialised and would silently drop every call:
:func:`init_stats` initialises it from Airflow's ``[metrics]`` configuration.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opsbook.observability import callback_ledger, catalog

DAG_ID = "pipeline_ventas"


def _stats() -> Any:
    from airflow.sdk.observability import stats

    return stats


def init_stats() -> None:
    """Initialise the SDK stats backend from ``[metrics]`` (needed outside a task runner)."""
    from airflow.sdk.configuration import conf
    from airflow.sdk.observability.metrics import stats_utils

    _stats().initialize(factory=stats_utils.get_stats_factory(),
                        export_legacy_names=conf.getboolean("metrics", "legacy_names_on"))


def emit(name: str, value: float, dag_id: str = DAG_ID) -> None:
    """Send one catalog metric.

    Args:
        name: catalog name, with or without the ``airflow_pipeline_`` prefix.
        value: counter increment, gauge value, or timer duration in **seconds** (sent in ms).
        dag_id: DAG the metric belongs to (last part of the StatsD name).
    """
    metric = catalog.get(name)
    stat = metric.statsd_name(dag_id)
    stats = _stats()
    if metric.kind == "counter":
        stats.incr(stat, count=int(value))
    elif metric.kind == "gauge":
        stats.gauge(stat, float(value))
    else:
        stats.timing(stat, timedelta(seconds=float(value)))


def zero_counters(dag_id: str = DAG_ID) -> list[str]:
    """Send a 0-increment of every catalog counter so each series exists at 0.

    Returns:
        The Prometheus names touched.
    """
    names = [m.name for m in catalog.METRICS if m.kind == "counter"]
    for name in names:
        emit(name, 0, dag_id)
    return names


def _run_seconds(context: dict) -> float:
    run = context.get("dag_run")
    start = getattr(run, "start_date", None)
    end = getattr(run, "end_date", None) or datetime.now(tz=start.tzinfo if start else None)
    return max((end - start).total_seconds(), 0.0) if start else 0.0


def _dag_outcome(context: dict, state: str) -> None:
    init_stats()
    dag_id = context["dag"].dag_id if context.get("dag") else DAG_ID
    emit("dag_success" if state == "success" else "dag_failure", 1, dag_id)
    emit("dag_duration", _run_seconds(context), dag_id)
    run_id = getattr(context.get("dag_run"), "run_id", None) or context.get("run_id")
    if run_id:
        callback_ledger.record(dag_id, str(run_id), state)


def on_dag_success(context: dict) -> None:
    """DAG ``on_success_callback``: count the success and the run's wall time.

    Then records the run in :mod:`opsbook.observability.callback_ledger`, so readers of per-run
    metric deltas know this run's counters have been sent.
    """
    _dag_outcome(context, "success")


def on_dag_failure(context: dict) -> None:
    """DAG ``on_failure_callback``: count the failure and the run's wall time (and record it)."""
    _dag_outcome(context, "failed")


def counts_as_sla_violation(context: dict | None) -> bool:
    """Whether a missed deadline is an SLA violation: not when the run had already failed.

    Airflow 3.3 prunes a run's deadlines only when it *succeeds*, so a run that failed fast still
    reaches its deadline later. That run was paged already by ``PipelineDagFailed``; counting it
    again as an SLA miss would page twice for one cause, one SLA apart, and keep
    ``PipelineSlaMissed`` busy for the runs after it. A run still queued or running at its
    deadline is a real miss. ``context`` is what Airflow passes the callback
    (``context["dag_run"]["state"]`` read by the scheduler when it handled the miss); without
    one, the miss counts.
    """
    state = ((context or {}).get("dag_run") or {}).get("state")
    return state != "failed"


async def record_sla_violation(dag_id: str = DAG_ID, context: dict | None = None,
                               **_: Any) -> str:
    """Deadline (SLA) callback, run by the triggerer: count one ``sla_violations``.

    Top-level ``async def`` so the triggerer can import it by path
    (``opsbook.observability.pipeline_metrics.record_sla_violation``). A run that had already
    failed is not counted (:func:`counts_as_sla_violation`). A counted miss is also appended to
    :mod:`opsbook.observability.callback_ledger` (``sla_missed``), which a run slowed with
    ``until_sla_miss`` waits for.

    Args:
        dag_id: DAG whose run missed its deadline.
        context: the run and deadline Airflow adds to the callback's kwargs.

    Returns:
        A short Spanish note stored with the callback result.
    """
    if not counts_as_sla_violation(context):
        return f"deadline de {dag_id} vencido tras fallar la ejecución: ya avisó PipelineDagFailed"
    init_stats()
    emit("sla_violations", 1, dag_id)
    run = (context or {}).get("dag_run") or {}
    run_id = run.get("dag_run_id") or run.get("run_id")
    if run_id:  # a run slowed on purpose stops waiting once its miss is counted
        callback_ledger.record(dag_id, str(run_id), callback_ledger.SLA_MISSED)
    return f"violación de SLA registrada para {dag_id}"
