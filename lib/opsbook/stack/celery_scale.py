"""Live scaling of the Celery workers of a running Celery-mode stack.

Why this module exists: scaling needs both the Celery mode's worker programs
(:mod:`opsbook.stack.celery_mode`) and the whole stack's plan and supervisord control
(:mod:`opsbook.stack.lifecycle`), while ``lifecycle`` itself asks ``celery_mode`` for the worker
programs when it plans a Celery stack. Keeping ``scale`` here, above both, keeps the stack room
free of import cycles. Removal is a Celery *warm shutdown*: running tasks finish first.
"""

from __future__ import annotations

from opsbook.settings import Settings, settings
from opsbook.stack import lifecycle as stack
from opsbook.stack import supervisor_conf as sup
from opsbook.stack.celery_mode import (
    DEFAULT_CONCURRENCY,
    WARM_SHUTDOWN_WAIT_S,
    airflow_env_overrides,
    as_running,
    current_workers,
    wait_for_workers,
    worker_name,
    worker_programs,
)
from opsbook.stack.state import read_mode
from opsbook.waiting import WaitTimeout


def scale(
    workers: int,
    concurrency: int = DEFAULT_CONCURRENCY,
    cfg: Settings = settings,
    timeout_s: float = 180.0,
) -> dict:
    """Add or remove Celery workers of the running Celery-mode stack, live.

    Removed workers get a warm shutdown (SIGTERM: they stop taking tasks and finish the
    running ones, up to :data:`WARM_SHUTDOWN_WAIT_S`); new workers are started and waited for
    until they answer ``celery inspect ping``. Workers whose concurrency changes restart.

    Args:
        workers: desired number of workers (0 or more).
        concurrency: task slots of every worker.
        cfg: settings.
        timeout_s: deadline for the new workers to answer the ping.

    Returns:
        ``{"added": [...], "removed": [...], "restarted": [...], "workers": {node: ok}}``.

    Raises:
        RuntimeError: when the stack is not running in Celery mode or a worker never answers.
    """
    if workers < 0:
        raise ValueError(f"workers={workers} inválido: usa 0 o más")
    mode = read_mode(cfg)
    if mode.get("executor") != "celery" or not sup.is_running(cfg):
        raise RuntimeError(
            "la pila no está en modo celery: arráncala con "
            "`opsbook stack up --executor celery --workers N`"
        )
    before = set(current_workers(cfg))
    wanted = {worker_name(n) for n in range(1, workers + 1)}
    rpc = sup.rpc(cfg, timeout=WARM_SHUTDOWN_WAIT_S + 30)
    for name in sorted(before - wanted):  # warm shutdown before removing the program
        try:
            rpc.supervisor.stopProcess(name, True)
        except Exception:  # noqa: BLE001 - already stopped is fine
            pass
    others = as_running(
        [p for p in stack.plan(cfg, "celery", 0) if not p.name.startswith("worker-")], cfg
    )
    extra = [p for p in stack.recorded_programs(cfg) if p.name not in {o.name for o in others}]
    keep = [p for p in extra if not p.name.startswith("worker-")]
    if keep:  # e.g. a green api-server of a deploy in progress: never scale during one
        raise RuntimeError(f"hay programas ajenos al plan ({[p.name for p in keep]}): termina "
                           "el despliegue antes de escalar")
    new = stack.with_env(
        worker_programs(cfg, workers, concurrency), cfg, "celery", airflow_env_overrides(cfg)
    )
    changes = stack.apply_programs(others + new, cfg, {"executor": "celery", "workers": workers})
    states = {p["name"]: p["statename"] for p in rpc.supervisor.getAllProcessInfo()}
    to_start = sorted(wanted, key=lambda n: int(n[7:])) + [
        n for n in changes.get("added", []) if n not in wanted  # plan grew (a new service)
    ]
    for name in to_start:
        if states.get(name) not in ("RUNNING", "STARTING"):
            sup.start_process(rpc, name)
    try:
        # Removed workers were stopped (and waited for) above, so the wanted replies suffice.
        pong = wait_for_workers(cfg, workers, timeout_s)
    except WaitTimeout as exc:
        raise RuntimeError(f"{exc}: mira {cfg.log_dir}/worker-N.log") from None
    return {
        "added": sorted(wanted - before),
        "removed": sorted(before - wanted),
        "restarted": sorted(set(changes.get("changed", [])) & wanted),
        "workers": pong,
    }
