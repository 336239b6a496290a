"""The native stack: ``up``, ``down``, ``status`` and per-component control.

Why this module exists: every notebook, test and bench drives ONE live stack (Airflow 3
api-server/scheduler/dag-processor/triggerer + StatsD bridge + Prometheus + Alertmanager +
alert receiver + nginx front door) run by supervisord from the venv, without Docker. This
module orchestrates it: generate the configs, migrate the metadata DB, start in order, wait
on *real* health with a deadline, and on ``down`` prove by pid that nothing survived.
Configs live in :mod:`opsbook.stack.supervisor_conf` / :mod:`opsbook.stack.service_configs`, the
program list in :mod:`opsbook.stack.components`, health probes in :mod:`opsbook.stack.health`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import warnings

from opsbook import records
from opsbook.airflow.env import airflow_env, drill_dags_dir
from opsbook.observability import alerts
from opsbook.settings import Settings, settings
from opsbook.stack import (
    celery_mode,
    components,
    cpu_share,
    fresh_start,
    health,
    schema,
    service_configs,
    started,
    zygote,
)
from opsbook.stack import supervisor_conf as sup
from opsbook.stack.control import (
    component_pid,
    down,
    kill_and_sweep,
    reload_prometheus,
    restart_component,
    start_component,
    status,
    stop_component,
    sweep_strays,
)
from opsbook.stack.programs import Program, airflow_argv
from opsbook.stack.state import (
    StackError,
    component_health,
    cpu_share_marker,
    is_healthy,
    mode_path,
    read_mode,
    recorded_programs,
    states,
)
from opsbook.stack.wait import wait_healthy, warm_execution_api
from opsbook.waiting import WaitTimeout, wait_until

DEFAULT_TIMEOUT_S = 300.0
"""Deadline of ``up`` (a shared 2-core machine is slow: generous on purpose)."""


def opsbook_env(cfg: Settings = settings) -> dict[str, str]:
    """``OPSBOOK_*`` variables reproducing ``cfg`` in a child process."""
    env = {
        "OPSBOOK_ROOT": str(cfg.root),
        "OPSBOOK_VAR_DIR": str(cfg.var),
        "OPSBOOK_EVIDENCE_DIR": str(cfg.evidence_dir),
        "OPSBOOK_SCRAPE_INTERVAL_S": f"{cfg.scrape_interval_s:g}",
        "OPSBOOK_PARALLELISM": str(cfg.parallelism),
        "OPSBOOK_PG_DSN": cfg.pg_dsn,
        "OPSBOOK_REDIS_URL": cfg.redis_url,
    }
    for field in dataclasses.fields(cfg.ports):
        env[f"OPSBOOK_{field.name.upper()}_PORT"] = str(getattr(cfg.ports, field.name))
    if cfg.warehouse_url:
        env["OPSBOOK_WAREHOUSE_URL"] = cfg.warehouse_url
    return env


def plan(cfg: Settings = settings, executor: str = "local", workers: int = 0) -> list[Program]:
    """Programs of the stack for a mode, each with its full environment merged in.

    Args:
        cfg: the settings.
        executor: ``"local"`` or ``"celery"`` (asks :mod:`opsbook.stack.celery_mode` for the env
            overrides and the ``worker-N`` programs).
        workers: number of Celery workers (ignored in local mode).
    """
    progs = components.base_programs(cfg)
    overrides: dict[str, str] = {}
    if executor == "celery":
        overrides = celery_mode.airflow_env_overrides(cfg)
        progs += celery_mode.worker_programs(cfg, workers)
    return with_env(progs, cfg, executor, overrides)


def with_env(
    progs: list[Program], cfg: Settings, executor: str, overrides: dict[str, str] | None = None
) -> list[Program]:
    """Merge the base environment into each program (Airflow env for non-service programs)."""
    base = opsbook_env(cfg)
    af = {**base, **airflow_env(cfg, executor), **(overrides or {})}
    out = []
    for prog in progs:
        env = base if prog.name in components.SERVICE_COMPONENTS else af
        out.append(dataclasses.replace(prog, env={**env, **prog.env}))
    return out


def _start_supervisord(cfg: Settings, timeout_s: float = 60) -> None:
    """Start supervisord as the stack's zygote (:mod:`opsbook.stack.zygote`) and record it."""
    af = airflow_env(cfg)
    env = {**os.environ, sup.STACK_MARK: str(cfg.var), **{k: af[k] for k in zygote.START_ENV}}
    subprocess.run(
        [sys.executable, "-m", "opsbook.stack.zygote", "--specs", str(sup.spec_dir(cfg)),
         "-c", str(sup.conf_path(cfg))],
        env=env, check=True, cwd=cfg.root,
    )
    try:
        wait_until(lambda: sup.is_running(cfg), timeout_s, 0.2, "supervisord arranque")
    except WaitTimeout as exc:
        raise StackError(f"{exc}: mira {cfg.log_dir / 'supervisord.log'}") from None
    started.record(sup.supervisord_pid(cfg), cfg)  # what down/the runbook may sweep later


def apply_programs(programs: list[Program], cfg: Settings = settings, mode: dict | None = None):
    """Rewrite ``supervisord.conf`` for ``programs`` and apply it (``reread`` + ``update``).

    Programs must already carry their full environment (see :func:`plan` / :func:`with_env`).
    Starts supervisord when it is not running; starts nothing else.

    Args:
        programs: the complete desired program list.
        cfg: the settings.
        mode: extra keys recorded in ``mode.json`` (``executor``, ``workers``).

    Returns:
        What changed: ``{"added": [...], "changed": [...], "removed": [...]}``.
    """
    sup.write(programs, {}, cfg)
    record = {**read_mode(cfg), **(mode or {})}
    record["programs"] = [
        {"name": p.name, "port": p.port, "health_url": p.health_url, "optional": p.optional}
        for p in programs
    ]
    records.write_atomic(mode_path(cfg), json.dumps(record, indent=2))
    if not sup.is_running(cfg):
        _start_supervisord(cfg)
        return {"added": [p.name for p in programs], "changed": [], "removed": []}
    return sup.apply(cfg)


def _migrate(cfg: Settings, env: dict[str, str]) -> subprocess.Popen:
    log = open(cfg.log_dir / "db-migrate.log", "ab")  # noqa: SIM115 - closed by the child
    return subprocess.Popen(
        airflow_argv("db", "migrate"),
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=cfg.root,
    )


def _migrate_if_needed(progs: list[Program], cfg: Settings,
                       phases: dict) -> subprocess.Popen | None:
    """The running ``airflow db migrate`` of the planned DB, or None when its schema is current.

    ``phases`` (``mode.json``) gets ``schema``: why it migrates or not.
    """
    af_env = next(p.env for p in progs if p.name == "scheduler")
    check = schema.check(af_env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", ""))
    phases["schema"] = check.reason
    return None if check.current else _migrate(cfg, af_env)


def up(
    executor: str = "local",
    workers: int = 0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cfg: Settings = settings,
    progress: bool = True,
) -> dict:
    """Start the stack (idempotent) and wait until every component is healthy.

    A healthy stack in the same mode returns at once. Otherwise: let the runs in flight end
    when the executor changes (:func:`drain_before_switch`), generate configs, forget the
    previous Alertmanager's notification log and silences (:mod:`opsbook.stack.fresh_start`), start
    supervisord (from cold, while ``airflow db migrate`` already runs), start the services while
    the migration runs, then Airflow (the api-server first, with a core of its own until it is
    done: :mod:`opsbook.stack.cpu_share`), wait on real health with a deadline, warm the
    execution API (``GET /execution/health``) and, in Celery mode, wait for the workers' pong.

    Args:
        executor: ``"local"`` (default) or ``"celery"``.
        workers: Celery workers (``worker-1`` … ``worker-N``), celery mode only.
        timeout_s: deadline in seconds for the whole start.
        cfg: the settings.
        progress: show a ``rich`` progress display.

    Returns:
        :func:`status` of the healthy stack.

    Raises:
        StackError: a component failed or the deadline passed (the message names the logs).
    """
    wanted = {"executor": executor, "workers": workers if executor == "celery" else 0}
    current = read_mode(cfg)
    if {k: current.get(k) for k in wanted} == wanted and is_healthy(cfg):
        cpu_share.release_left_over(sup.supervisord_pid(cfg), cpu_share_marker(cfg))
        return status(cfg)
    drain_before_switch(current, executor, cfg)
    if states(cfg).get("alertmanager", {}).get("statename") not in ("RUNNING", "STARTING"):
        fresh_start.forget_alert_state(cfg)  # a new stack owes nothing to the last one's log
        fresh_start.release_probe_pause()
    # A mode switch stops the scheduler on purpose: the runbook must not start it midway.
    with alerts.runbook_paused(alerts.RECONFIGURE_PAUSE):
        return _start(executor, workers, wanted, timeout_s, cfg, progress)


DRAIN_TIMEOUT_S = 120.0
"""Bound of the wait for DAG runs in flight before the executor (and metadata DB) changes."""


def drain_before_switch(current: dict, executor: str, cfg: Settings = settings,
                        timeout_s: float = DRAIN_TIMEOUT_S) -> list[str]:
    """Let the DAG runs in flight end before a switch of executor, bounded.

    Local mode keeps Airflow's metadata in SQLite and Celery mode in PostgreSQL. A run still
    queued or running when the stack switches stays so in the database left behind and ends
    only when the stack comes back to that mode: measured on day 4 (2026-12-07), a run left
    in flight by the switch to Celery ended 237.7 s after it was queued, past its deadline,
    and ``PipelineSlaMissed`` fired at the end of the day. A healthy stack that switches
    therefore waits for its runs first, with a progress line; a run still in flight at the
    deadline (a hung task) does not block the switch: it is named in a warning.

    Args:
        current: the running mode (:func:`opsbook.stack.state.read_mode`).
        executor: the executor asked for.
        cfg: the settings.
        timeout_s: bound of the wait.

    Returns:
        The runs (``dag_id/run_id``) still in flight when the switch goes on.
    """
    if current.get("executor") in (None, executor) or not is_healthy(cfg):
        return []
    from opsbook.airflow import client as airflow_api

    def in_flight() -> list[str]:
        return [f"{run['dag_id']}/{run['dag_run_id']}" for run in airflow_api.dag_runs(
            "~", 100, cfg.airflow_url, states=airflow_api.ACTIVE_STATES)]

    runs = in_flight()
    if not runs:
        return []
    print(f"esperando a {len(runs)} ejecución(es) en curso antes de cambiar a modo {executor} "
          f"(como mucho {timeout_s:g} s): {', '.join(runs)}", flush=True)
    try:
        return wait_until(in_flight, timeout_s, 1.0,
                          "que terminen las ejecuciones en curso", until=lambda left: not left)
    except WaitTimeout as exc:
        left = list(exc.last or [])
        warnings.warn(f"cambio a modo {executor} con ejecuciones aún en curso: {', '.join(left)}; "
                      "quedan en la base de metadatos del modo anterior hasta volver a él",
                      stacklevel=2)
        return left


def _start(executor: str, workers: int, wanted: dict, timeout_s: float, cfg: Settings,
           progress: bool) -> dict:
    """The body of :func:`up` once it knows something must be (re)started."""
    t0 = time.monotonic()
    for folder in (cfg.log_dir, cfg.run_dir, drill_dags_dir(cfg)):
        folder.mkdir(parents=True, exist_ok=True)
    service_configs.write_all(cfg)
    # The plan has only the blue slot: a green slot left serving by a deploy is dropped on a
    # (re)plan, so the front door goes back to blue (a mode switch restarts it anyway).
    repoint = service_configs.front_door_port(cfg) != cfg.ports.airflow
    if repoint or not sup.is_running(cfg):
        service_configs.front_door_upstream(cfg.ports.airflow, cfg)
    progs = plan(cfg, executor, workers)
    check_ports(cfg, progs, states(cfg))
    phases: dict = {}
    # From cold, nothing runs yet: migrate while supervisord imports Airflow (one core each)
    # instead of after it.
    cold = not sup.is_running(cfg)
    migrate = _migrate_if_needed(progs, cfg, phases) if cold else None
    apply_programs(progs, cfg, {**wanted, "started_at": time.time(), "live_slots": ["blue"]})
    if repoint and states(cfg).get("front-door", {}).get("statename") == "RUNNING":
        service_configs.reload_front_door(cfg)
    now = states(cfg)
    rpc = sup.rpc(cfg)
    phases["supervisord_s"] = round(time.monotonic() - t0, 1)
    if not cold and now.get("api-server", {}).get("statename") != "RUNNING":
        migrate = _migrate_if_needed(progs, cfg, phases)
    services = [p for p in progs if p.name in components.SERVICE_COMPONENTS]
    airflow_side = [p for p in progs if p.name not in components.SERVICE_COMPONENTS]
    for prog in services:
        if now.get(prog.name, {}).get("statename") not in ("RUNNING", "STARTING"):
            sup.start_process(rpc, prog.name)
    if migrate is not None:
        left = max(5.0, timeout_s - (time.monotonic() - t0))
        try:
            code = migrate.wait(timeout=left)
        except subprocess.TimeoutExpired:
            migrate.kill()
            code = -1
        if code != 0:
            raise StackError(
                f"'airflow db migrate' falló (código {code}): mira {cfg.log_dir / 'db-migrate.log'}"
            )
    phases["migrated_s"] = round(time.monotonic() - t0, 1)
    to_start = [p.name for p in airflow_side
                if now.get(p.name, {}).get("statename") not in ("RUNNING", "STARTING")]
    # The api-server is the start's critical path: started first, with a core of its own
    # until up is done (opsbook.stack.cpu_share).
    to_start.sort(key=lambda name: name != "api-server")
    reservation = cpu_share.CoreReservation(sup.supervisord_pid(cfg), cpu_share_marker(cfg),
                                            enabled="api-server" in to_start)
    with reservation:
        for name in to_start:
            sup.start_process(rpc, name)
            if name == "api-server":
                reservation.admit(rpc.supervisor.getProcessInfo(name)["pid"])
        phases["reserved_core"] = [reservation.reserved, reservation.confined]
        _await_healthy(progs, phases, t0, timeout_s, cfg, progress)
    if executor == "celery" and workers:  # RUNNING is not consuming: wait for their pong
        try:
            left = max(30.0, timeout_s - (time.monotonic() - t0))
            celery_mode.wait_for_workers(cfg, workers, left)
        except WaitTimeout as exc:
            raise StackError(f"{exc}: mira {cfg.log_dir}/worker-N.log") from None
        phases["workers_ready_s"] = round(time.monotonic() - t0, 1)
    record = {**read_mode(cfg), **phases, "up_seconds": round(time.monotonic() - t0, 1)}
    records.write_atomic(mode_path(cfg), json.dumps(record, indent=2))
    return status(cfg)


def _await_healthy(progs: list[Program], phases: dict, t0: float, timeout_s: float,
                   cfg: Settings, progress: bool) -> None:
    """Wait for every program's health and the execution API's warm; fill ``phases``."""
    left = max(5.0, timeout_s - (time.monotonic() - t0))
    # Warm the execution API as soon as the api-server listens, overlapping the wait for the
    # scheduler/dag-processor/triggerer heartbeats instead of adding its ~7 s at the end.
    warm: dict = {}

    def _warm() -> None:
        try:
            warm["s"] = warm_execution_api(cfg, max(120.0, left))
        except StackError as exc:
            warm["error"] = exc

    thread = threading.Thread(target=_warm, name="warm-execution-api", daemon=True)
    thread.start()
    first: dict[str, float] = {}
    wait_healthy(cfg, progs, lambda: states(cfg), component_health, left, progress, first)
    phases["healthy_s"] = round(time.monotonic() - t0, 1)
    phases["component_healthy_s"] = {k: round(v - t0, 1) for k, v in first.items()}
    thread.join(max(120.0, timeout_s - (time.monotonic() - t0)))
    if "s" not in warm:
        raise warm.get("error") or StackError("la API de ejecución no respondió a tiempo")
    phases["warm_execution_api_seconds"] = round(warm["s"], 2)


def check_ports(cfg: Settings, progs: list[Program], now: dict[str, dict]) -> None:
    """Fail clearly when a port of a program that is not running yet is taken.

    Raises:
        StackError: naming the port, the process holding it and how to avoid it.
    """
    wanted = [(p.name, p.port, False) for p in progs if p.port]
    wanted.append(("statsd-bridge", cfg.ports.statsd, True))
    for name, port, udp in wanted:
        if now.get(name, {}).get("statename") in ("RUNNING", "STARTING"):
            continue
        holder = health.port_busy(port, udp=udp)
        if holder:
            raise StackError(
                f"el puerto {port}{'/udp' if udp else ''} de '{name}' está ocupado por {holder}: "
                "para esa pila (opsbook stack down) o usa otro OPSBOOK_PORT_OFFSET"
            )


__all__ = [
    "StackError", "component_health", "mode_path", "recorded_programs", "apply_programs",
    "component_pid", "down", "is_healthy", "kill_and_sweep", "plan", "reload_prometheus",
    "restart_component", "start_component", "status", "stop_component", "sweep_strays", "up",
]
