"""Real recovery actions of the runbook.

Why this module exists: the catalog names actions (``restart_scheduler``,
``clear_failed_tasks`` ...); here they act on the real stack — supervisord through
:mod:`opsbook.stack.lifecycle`, Airflow through its REST API (``dry_run: false``: the API's default
is a dry run), the warehouse checkpoints of :mod:`opsbook.pipeline.warehouse`. Every action is
idempotent
(running it twice leaves the same state) and bounded in time; it records what it did in its
:class:`~opsbook.incidents.outcome.Outcome` and may leave hints in the context for the next step
(``run_id``, ``restarted_at``).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

from opsbook.incidents import diagnostics
from opsbook.incidents.outcome import Outcome
from opsbook.settings import settings
from opsbook.waiting import WaitTimeout, wait_until

DAG_ID = diagnostics.DAG_ID


def restart_component(name: str, ctx: dict[str, Any], timeout_s: float = 60.0,
                      force: bool = False) -> Outcome:
    """Start a stopped stack component through supervisord (no-op when it is running).

    Args:
        name: supervisord program (``scheduler``, ``api-server`` ...).
        ctx: incident context; ``restarted_at`` is set when a start happened.
        timeout_s: bound for supervisord to report the program running.
        force: restart it even when its process is alive (alive is not answering).
    """
    from opsbook.stack import lifecycle as stack

    before = stack.component_pid(name)
    if before and diagnostics.psutil.pid_exists(before) and not force:
        return Outcome(True, {"componente": name, "pid": before, "accion": "ninguna (ya vivo)"})
    ctx["restarted_at"] = time.time()
    if before:
        stack.stop_component(name)
    reaped = _reap_strays()
    # ask supervisord to start it without waiting for health: verification measures that
    from opsbook.stack import supervisor_conf

    supervisor_conf.rpc(settings).supervisor.startProcess(name, False)
    try:
        pid = wait_until(lambda: stack.component_pid(name), timeout_s, 0.5,
                         f"{name} arranque con un pid nuevo",
                         until=lambda pid: bool(pid) and pid != before
                         and diagnostics.psutil.pid_exists(pid))
    except WaitTimeout as exc:
        return Outcome(False, {"componente": name, "pid_anterior": before, "pid": exc.last,
                               "error": f"no arrancó en {timeout_s:.0f} s"})
    return Outcome(True, {"componente": name, "pid_anterior": before, "pid_nuevo": pid,
                          "huerfanos_recogidos": reaped})


def _reap_strays() -> list[int]:
    """Stop this stack's orphans (children of a crashed component) before restarting it.

    A component that crashed (``kill -9``, OOM killer) leaves its children re-parented to
    init; supervisord never stops them and they keep memory and slots. Returns their pids.
    """
    from opsbook.stack import lifecycle as stack

    return [o["pid"] for o in stack.sweep_strays(settings, grace_s=1.0)["orphans"]]


def restart_scheduler(ctx: dict[str, Any]) -> Outcome:
    """Start the scheduler again when its process is gone."""
    return restart_component("scheduler", ctx)


def restart_api_server(ctx: dict[str, Any]) -> Outcome:
    """Restart the Airflow api-server (also when its process is alive but hung)."""
    return restart_component("api-server", ctx, force=True)


def restart_statsd_bridge(ctx: dict[str, Any]) -> Outcome:
    """Restart the StatsD bridge (alive but unscrapeable counts as down)."""
    return restart_component("statsd-bridge", ctx, force=True)


def wait_for_warehouse(ctx: dict[str, Any], timeout_s: float = 420.0) -> Outcome:
    """Poll the warehouse until it accepts writes again (bounded)."""
    start = time.monotonic()
    try:
        out = wait_until(lambda: diagnostics.warehouse(ctx), timeout_s, 1.0,
                         "el almacén acepte escrituras", until=lambda out: out.ok)
    except WaitTimeout as exc:
        return Outcome(False, {"espera_s": timeout_s, "ultimo_error": exc.last.detail})
    return Outcome(True, {"espera_s": round(time.monotonic() - start, 1), **out.detail})


def restore_warehouse(ctx: dict[str, Any]) -> Outcome:
    """Restore the logical date's rows from its last checkpoint (taken before each load).

    Idempotent: restoring twice leaves the checkpoint's rows. The date comes from the
    context (``logical_date``/``ds``) or from the latest failed run.
    """
    from opsbook.pipeline import warehouse

    ds = ctx.get("ds") or ctx.get("logical_date") or _failed_run_date(ctx)
    if not ds:
        return Outcome(False, "no sé qué fecha lógica restaurar (sin ejecución fallida)")
    rows = warehouse.restore_checkpoint(str(ds)[:10])
    return Outcome(True, {"fecha_logica": str(ds)[:10], "filas_restauradas": rows})


def await_data_fix(ctx: dict[str, Any], timeout_s: float = 420.0) -> Outcome:
    """Wait (bounded) until the landing file of the date validates with zero bad rows.

    The data owner fixes the file; the runbook re-validates it with the pipeline's own
    pandera rules before any rerun, so a rerun never loads still-corrupt data.
    """
    import pandas as pd

    from opsbook.pipeline import validation
    from opsbook.pipeline.datagen import landing_path

    ds = ctx.get("ds") or diagnostics._latest_run_date(ctx.get("dag_id") or DAG_ID)
    path = landing_path(str(ds))
    start = time.monotonic()
    last: dict[str, Any] = {}

    def fixed() -> bool:
        if not path.exists():
            return False
        stamp = path.stat().st_mtime
        bad = rows = 0
        for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                                 chunksize=100_000):
            rows += len(chunk)
            bad += len(validation.validate_chunk(chunk))
        last.update({"archivo": path.name, "filas": rows, "filas_invalidas": bad})
        return bad == 0 and path.stat().st_mtime == stamp  # unchanged while it was read

    try:
        wait_until(fixed, timeout_s, 2.0, f"{path.name} valide sin filas inválidas")
    except WaitTimeout:
        return Outcome(False, {"error": f"el archivo no se corrigió en {timeout_s:.0f} s",
                               "ultimo": last or None})
    return Outcome(True, {**last, "espera_s": round(time.monotonic() - start, 1)})


def clear_failed_tasks(ctx: dict[str, Any]) -> Outcome:
    """Clear the failed task instances of the incident's run (``dry_run: false``)."""
    from opsbook.airflow import client as airflow_api

    dag_id = ctx.get("dag_id") or DAG_ID
    run_id = _failed_run_id(dag_id, ctx)
    if run_id is None:
        return Outcome(True, {"dag_id": dag_id, "accion": "ninguna (no hay ejecuciones fallidas)"})
    try:
        cleared = airflow_api.clear_task_instances(dag_id, run_id, dry_run=False,
                                                   only_failed=True)
    except Exception as exc:  # noqa: BLE001 - see _rerun_fresh
        return _rerun_fresh(dag_id, run_id, ctx, exc)
    ctx["run_id"] = run_id
    _wait_state_left(dag_id, run_id, "failed")
    return Outcome(True, {"dag_id": dag_id, "run_id": run_id,
                          "tareas_limpiadas": sorted({ti["task_id"] for ti in cleared})})


def rerun_logical_date(ctx: dict[str, Any]) -> Outcome:
    """Re-run every task of the run of one logical date (after the data was fixed)."""
    from opsbook.airflow import client as airflow_api

    dag_id = ctx.get("dag_id") or DAG_ID
    run_id = ctx.get("run_id") or diagnostics._latest_run_id(dag_id)
    if run_id is None:
        return Outcome(False, f"{dag_id}: no hay ejecución que relanzar")
    try:
        airflow_api.clear_dag_run(dag_id, run_id, only_failed=False)
    except Exception as exc:  # noqa: BLE001 - see _rerun_fresh
        return _rerun_fresh(dag_id, run_id, ctx, exc)
    ctx["run_id"] = run_id
    _wait_state_left(dag_id, run_id, "success")
    return Outcome(True, {"dag_id": dag_id, "run_id": run_id, "accion": "relanzada"})


def _rerun_fresh(dag_id: str, run_id: str, ctx: dict[str, Any], exc: Exception) -> Outcome:
    """Fallback when clearing fails: trigger a new run with the same conf and the same date.

    Airflow 3.3.2 answers 500 to a clear while the run's ``DAGRUN_QUEUED_AT`` deadline is still
    pending (``_recalculate_dagrun_queued_at_deadlines``: ``timedelta(seconds=<dict>)``). The
    pipeline loads one date per transaction, idempotently, so a new run of the same date is
    an equivalent re-run. The new run gets a logical date on the failed run's date (at the
    current time of day, unique like a trigger's ``now``): triggered "now" it would load
    *today*, and a run that failed at 23:59:58 UTC was re-run 20 s later as the next day's
    (measured in a ``make run`` on 2026-12-08: the warehouse kept the old day's rows and the
    day-3 drill failed).
    """
    from opsbook.airflow import client as airflow_api

    if "500" not in str(exc):
        raise exc
    runs = [r for r in airflow_api.dag_runs(dag_id, limit=20) if r["dag_run_id"] == run_id]
    conf = (runs[0].get("conf") if runs else None) or {}
    logical_date = None  # without a known date (never from Airflow's API): a run of today
    if runs and (runs[0].get("logical_date") or runs[0].get("run_after")):
        now = datetime.now(UTC)
        logical_date = datetime.combine(date.fromisoformat(diagnostics.run_date(runs[0])),
                                        now.timetz())
    new_id = airflow_api.trigger_dag(dag_id, conf, logical_date=logical_date)
    ctx["run_id"] = new_id
    return Outcome(True, {"dag_id": dag_id, "run_id_fallido": run_id, "run_id_nuevo": new_id,
                          "accion": "limpiar falló (HTTP 500 de Airflow con deadline pendiente):"
                                    " nueva ejecución con la misma configuración"})


def _wait_state_left(dag_id: str, run_id: str, old: str, timeout_s: float = 30.0) -> None:
    """Poll until the cleared run left its old terminal state (so verification waits for it)."""
    from opsbook.airflow import client as airflow_api

    try:
        wait_until(lambda: airflow_api.dag_run_state(dag_id, run_id), timeout_s, 0.5,
                   f"{dag_id}/{run_id} salga de '{old}'",
                   until=lambda state: diagnostics.state_of(state) != old)
    except WaitTimeout:
        return  # verification then judges the run as it is


def _failed_run_date(ctx: dict[str, Any]) -> str | None:
    from opsbook.airflow import client as airflow_api

    dag_id = ctx.get("dag_id") or DAG_ID
    run_id = _failed_run_id(dag_id, ctx)
    runs = [r for r in airflow_api.dag_runs(dag_id, limit=20) if r["dag_run_id"] == run_id]
    return diagnostics.run_date(runs[0]) if runs else None


def _failed_run_id(dag_id: str, ctx: dict[str, Any]) -> str | None:
    if ctx.get("run_id"):
        return ctx["run_id"]
    from opsbook.airflow import client as airflow_api

    runs = [r for r in airflow_api.dag_runs(dag_id, limit=20)
            if diagnostics.state_of(r.get("state")) == "failed"]
    return runs[0]["dag_run_id"] if runs else None


ACTIONS = {
    "restart_scheduler": restart_scheduler,
    "restart_api_server": restart_api_server,
    "restart_statsd_bridge": restart_statsd_bridge,
    "wait_for_warehouse": wait_for_warehouse,
    "restore_warehouse": restore_warehouse,
    "await_data_fix": await_data_fix,
    "clear_failed_tasks": clear_failed_tasks,
    "rerun_logical_date": rerun_logical_date,
}
"""Action name (as used in ``incidents/incidents.yml``) → function."""
