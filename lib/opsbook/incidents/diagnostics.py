"""Real diagnosis and verification checks of the runbook.

Why this module exists: the catalog names checks (``airflow_health``, ``warehouse`` ...); this
module is where those names meet the real stack — the Airflow health endpoint per component,
the metadata DB and warehouse connections, psutil figures of the stack's processes and the
failing task's log tail through the REST API. Each check takes the incident context dict and
returns an :class:`~opsbook.incidents.outcome.Outcome`; none of them changes anything.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import psutil

from opsbook import loopback
from opsbook.airflow.paths import health_url as airflow_health_url
from opsbook.incidents.outcome import Outcome
from opsbook.settings import settings
from opsbook.waiting import WaitTimeout, wait_until

DAG_ID = "pipeline_ventas"
AIRFLOW_COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")


def health(timeout_s: float = 5.0) -> dict[str, Any]:
    """GET Airflow's health endpoint (no token needed) and return its JSON."""
    response = loopback.get(airflow_health_url(settings.airflow_url), timeout=timeout_s)
    response.raise_for_status()
    return response.json()


def airflow_health(ctx: dict[str, Any]) -> Outcome:
    """Status of each Airflow component according to the api-server."""
    try:
        data = health()
    except httpx.HTTPError as exc:
        return Outcome(False, {"api_server": f"inaccesible: {exc}"})
    detail = {name: (data.get(name) or {}).get("status") for name in AIRFLOW_COMPONENTS}
    beat = (data.get("scheduler") or {}).get("latest_scheduler_heartbeat")
    detail["latest_scheduler_heartbeat"] = beat
    return Outcome(all(v == "healthy" for k, v in detail.items() if k in AIRFLOW_COMPONENTS
                       and v is not None), detail)


def scheduler_process(ctx: dict[str, Any]) -> Outcome:
    """Whether supervisord has a live scheduler process (health lags up to 30 s)."""
    from opsbook.stack import lifecycle as stack

    pid = stack.component_pid("scheduler")
    alive = bool(pid) and psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    return Outcome(alive, {"pid": pid, "vivo": alive})


def metadata_db(ctx: dict[str, Any]) -> Outcome:
    """Open the Airflow metadata DB with SQLAlchemy and run ``SELECT 1``."""
    return _select_one(_metadata_url())


def warehouse(ctx: dict[str, Any]) -> Outcome:
    """Open the warehouse and take its write lock in a rolled-back transaction.

    Reachable is not enough for a load: the probe also proves a writer can get in.
    """
    start = time.monotonic()
    try:
        detail = warehouse_probe(timeout_s=5.0)
    except Exception as exc:  # noqa: BLE001 - unreachable is exactly what we report
        return Outcome(False, f"{type(exc).__name__}: {str(exc)[:200]}")
    detail["latencia_ms"] = round(1000 * (time.monotonic() - start), 1)
    return Outcome(True, detail)


def warehouse_probe(timeout_s: float = 5.0) -> dict[str, Any]:
    """Connect to the warehouse (:mod:`opsbook.pipeline.warehouse`) and prove it accepts writes.

    Raises:
        Exception: whatever the driver raises when the warehouse is unreachable or locked.
    """
    from opsbook.pipeline.warehouse import open_warehouse

    wh = open_warehouse()
    conn = wh.connect()
    try:
        if wh.dialect == "sqlite":
            conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            conn.execute("BEGIN IMMEDIATE")  # the write lock a load needs
            conn.execute("ROLLBACK")
            return {"motor": "sqlite", "ruta": str(wh.sqlite_path)}
        conn.execute("SELECT 1")
        return {"motor": "postgresql", "url": wh.url.split("@")[-1]}
    finally:
        conn.close()


def process_resources(ctx: dict[str, Any]) -> Outcome:
    """CPU, memory and disk of the stack's processes (psutil); fails above 90 % of a limit."""
    from opsbook.stack import lifecycle as stack

    procs = {}
    for name, info in stack.status().get("components", {}).items():
        pid = info.get("pid") if isinstance(info, dict) else None
        if not pid or not psutil.pid_exists(pid):
            continue
        proc = psutil.Process(pid)
        family = [proc, *proc.children(recursive=True)]
        rss = sum(_safe(p.memory_info).rss for p in family if _safe(p.memory_info))
        cpu = sum(_safe(p.cpu_percent, 0.1) or 0.0 for p in family)
        procs[name] = {"rss_mib": round(rss / 2**20, 1), "cpu_pct": round(cpu, 1)}
    disk = psutil.disk_usage(str(settings.var))
    memory = psutil.virtual_memory()
    detail = {"procesos": procs, "disco_pct": disk.percent, "memoria_pct": memory.percent,
              "carga_1m": round(psutil.getloadavg()[0], 2)}
    return Outcome(disk.percent < 90 and memory.percent < 90, detail)


def failed_task_logs(ctx: dict[str, Any], lines: int = 15) -> Outcome:
    """Latest run of the DAG and the log tail of its failed / retrying tasks (REST API).

    ``ok`` means "no failing task"; the run id and logical date go into the context for the
    recovery actions (clear, rerun, restore).
    """
    from opsbook.airflow import client as airflow_api

    dag_id = ctx.get("dag_id") or DAG_ID
    run = current_run(dag_id)
    if run is None:
        return Outcome(True, {"dag_id": dag_id, "ejecuciones": 0})
    ctx["run_id"] = run["dag_run_id"]
    ctx["ds"] = run_date(run)
    bad = [ti for ti in airflow_api.task_instances(dag_id, run["dag_run_id"])
           if state_of(ti.get("state")) in ("failed", "up_for_retry", "upstream_failed")]
    tails = {ti["task_id"]: airflow_api.task_log_tail(dag_id, run["dag_run_id"], ti["task_id"],
                                                      max(ti.get("try_number") or 1, 1), lines)
             for ti in bad if state_of(ti.get("state")) != "upstream_failed"}
    return Outcome(not bad, {"dag_id": dag_id, "run_id": run["dag_run_id"], "ds": ctx["ds"],
                             "estado_run": state_of(run.get("state")),
                             "tareas": {ti["task_id"]: state_of(ti.get("state")) for ti in bad},
                             "log_tail": tails})


def quarantine_report(ctx: dict[str, Any]) -> Outcome:
    """Rows loaded and rows quarantined (by reason) for the logical date, from the warehouse."""
    from opsbook.airflow import client as airflow_api
    from opsbook.pipeline.warehouse import QUARANTINE, SALES, open_warehouse

    dag_id = ctx.get("dag_id") or DAG_ID
    run = current_run(dag_id)
    if run is None:
        return Outcome(True, "sin ejecuciones: nada que revisar")
    ctx.setdefault("run_id", run["dag_run_id"])
    ctx.setdefault("ds", run_date(run))
    ds = ctx["ds"]
    # the report is final once the run's load committed (the quality alert fires earlier)
    state = airflow_api.wait_for_run(dag_id, ctx["run_id"], timeout_s=400)
    wh = open_warehouse()
    by_reason = wh.read(f"SELECT reason, COUNT(*) AS filas FROM {QUARANTINE}"
                        " WHERE logical_date = ? GROUP BY reason", (ds,))
    loaded = wh.count(SALES, ds)
    rejected = int(by_reason["filas"].sum()) if not by_reason.empty else 0
    detail = {"ds": ds, "run_id": ctx["run_id"], "estado_run": state, "cargadas": loaded,
              "en_cuarentena": rejected,
              "por_motivo": dict(zip(by_reason["reason"], by_reason["filas"].astype(int),
                                     strict=True)),
              "calidad": round(loaded / (loaded + rejected), 4) if loaded + rejected else None}
    return Outcome(rejected == 0, detail)


def current_run(dag_id: str) -> dict[str, Any] | None:
    """The run an alert is about: the newest run that started (queued runs did nothing yet)."""
    from opsbook.airflow import client as airflow_api

    runs = airflow_api.dag_runs(dag_id, limit=10)
    started = [r for r in runs if state_of(r.get("state")) != "queued"]
    return (started or runs or [None])[0]


def state_of(value: Any) -> str:
    """Plain lower-case state name from an enum, its value or its str (``failed``)."""
    return str(getattr(value, "value", value)).rsplit(".", 1)[-1].lower()


def run_date(run: dict[str, Any]) -> str:
    """Logical date a run processes (logical date, else run_after), as the DAG computes it."""
    when = run.get("logical_date") or run.get("run_after")
    return _as_dt(when).date().isoformat()


def bridge_target(ctx: dict[str, Any], timeout_s: float = 30.0) -> Outcome:
    """Whether Prometheus scrapes the StatsD bridge again (``up`` = 1 after the incident began).

    Polls (bounded) so the check can verify a restart: a sample older than ``restarted_at``
    does not count.
    """
    from opsbook.observability import prom
    from opsbook.observability.signals import BRIDGE_JOB

    last: list[Any] = [None]

    def scraped_again() -> bool:
        try:
            rows = prom.raw_query(f'up{{job="{BRIDGE_JOB}"}}')
        except Exception as exc:  # noqa: BLE001 - Prometheus down is a finding too
            rows, last[0] = [], f"Prometheus inaccesible: {str(exc)[:200]}"
        for row in rows:
            at, value = float(row["value"][0]), row["value"][1]
            last[0] = {"job": BRIDGE_JOB, "up": value, "muestra": at}
            if value == "1" and at > float(ctx.get("restarted_at", 0)):
                return True
        return False

    try:
        wait_until(scraped_again, timeout_s, 1.0, "Prometheus raspe el puente StatsD de nuevo")
    except WaitTimeout:
        return Outcome(False, last[0] or {"job": BRIDGE_JOB, "up": None})
    return Outcome(True, last[0])


def import_errors(ctx: dict[str, Any]) -> Outcome:
    """DAG import errors (a circular dependency or a syntax error shows here)."""
    from opsbook.airflow.client import import_errors as fetch

    errors = fetch()
    return Outcome(not errors, errors)


def stack_healthy(ctx: dict[str, Any], timeout_s: float = 240.0) -> Outcome:
    """Poll until the scheduler process is alive AND heartbeats after the incident started."""
    last: dict[str, Any] = {}

    def healthy() -> bool:
        proc = scheduler_process(ctx)
        state = airflow_health(ctx)
        beat = (state.detail or {}).get("latest_scheduler_heartbeat") if isinstance(
            state.detail, dict) else None
        fresh = bool(beat) and _epoch(beat) > float(ctx.get("restarted_at", 0))
        last.update({"proceso": proc.detail, "salud": state.detail, "heartbeat_nuevo": fresh})
        return proc.ok and state.ok and fresh

    try:
        wait_until(healthy, timeout_s, 1.0, "el scheduler vivo y con un heartbeat nuevo")
    except WaitTimeout:
        return Outcome(False, last or None)
    return Outcome(True, last)


def run_succeeded(ctx: dict[str, Any], timeout_s: float = 420.0) -> Outcome:
    """Wait for the run the recovery touched (or the latest run) and require ``success``."""
    from opsbook.airflow.client import wait_for_run

    dag_id = ctx.get("dag_id") or DAG_ID
    run_id = ctx.get("run_id") or _latest_run_id(dag_id)
    if run_id is None:
        return Outcome(False, f"{dag_id}: no hay ejecuciones")
    state = str(wait_for_run(dag_id, run_id, timeout_s))
    return Outcome(state.endswith("success"), {"dag_id": dag_id, "run_id": run_id,
                                               "estado": state})


# ---- helpers ---------------------------------------------------------------------------
def _latest_run_id(dag_id: str) -> str | None:
    from opsbook.airflow import client as airflow_api

    runs = airflow_api.dag_runs(dag_id, limit=1)
    return runs[0]["dag_run_id"] if runs else None


def _latest_run_date(dag_id: str) -> str | None:
    from opsbook.airflow import client as airflow_api

    runs = airflow_api.dag_runs(dag_id, limit=1)
    return run_date(runs[0]) if runs else None


def _as_dt(value: Any) -> Any:
    from datetime import UTC, datetime

    if hasattr(value, "date"):
        return value
    return datetime.fromtimestamp(_epoch(value), UTC)


def _metadata_url() -> str:
    try:
        from opsbook.airflow.env import airflow_env

        url = airflow_env().get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    except Exception:  # noqa: BLE001 - fall back to the documented default
        url = None
    return url or f"sqlite:///{settings.airflow_home / 'airflow.db'}"


def _select_one(url: str) -> Outcome:
    start = time.monotonic()
    if url.startswith("sqlite:///"):  # no SQLAlchemy import on the hot path of a SEV-1
        import sqlite3

        try:
            conn = sqlite3.connect(f"file:{url.removeprefix('sqlite:///')}?mode=ro", uri=True,
                                   timeout=5)
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            conn.close()
        except sqlite3.Error as exc:
            return Outcome(False, f"{type(exc).__name__}: {exc}")
        return Outcome(True, {"url": url, "latencia_ms":
                              round(1000 * (time.monotonic() - start), 1)})
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Outcome(True, {"url": url.split("@")[-1],
                              "latencia_ms": round(1000 * (time.monotonic() - start), 1)})
    except Exception as exc:  # noqa: BLE001
        return Outcome(False, f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        engine.dispose()


def _epoch(value: Any) -> float:
    from opsbook.incidents.timeline import parse_ts

    if hasattr(value, "timestamp"):
        return value.timestamp()
    return parse_ts(str(value)) or 0.0


def _safe(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


CHECKS = {
    "airflow_health": airflow_health,
    "scheduler_process": scheduler_process,
    "metadata_db": metadata_db,
    "warehouse": warehouse,
    "process_resources": process_resources,
    "failed_task_logs": failed_task_logs,
    "quarantine_report": quarantine_report,
    "import_errors": import_errors,
    "bridge_target": bridge_target,
    "stack_healthy": stack_healthy,
    "run_succeeded": run_succeeded,
}
"""Check name (as used in ``incidents/incidents.yml``) → function."""
