"""The Celery mode of the stack: CeleryExecutor + PostgreSQL metadata DB + Redis broker.

Why this module exists: day 4 scales Airflow horizontally. The default stack runs the
LocalExecutor on SQLite; ``opsbook stack up --executor celery --workers N`` switches every
Airflow component to the CeleryExecutor with the metadata database in PostgreSQL (several
schedulers and workers share it), Redis as broker and the Celery results in PostgreSQL. This
module holds what that mode adds on top of :func:`opsbook.airflow.env.airflow_env`: the
configuration overrides, the supervised ``worker-N`` programs and the worker health check
(``celery inspect ping``; Airflow's ``/monitor/health`` does not list Celery workers). Live
scaling, which needs the whole stack's plan, lives one step up in
:mod:`opsbook.stack.celery_scale`.

Airflow reaches PostgreSQL as a dedicated least-privilege role provisioned at every start
(:mod:`opsbook.stack.pg_role`), never as the superuser. Each stack gets its own Redis key
prefix (the PostgreSQL database name), so two stacks sharing
the machine's Redis never steal each other's tasks.
"""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlsplit, urlunsplit

from opsbook.settings import Settings, settings
from opsbook.stack import pg_role
from opsbook.stack import supervisor_conf as sup
from opsbook.stack.pg_role import pg_database
from opsbook.stack.programs import Program, airflow_argv
from opsbook.stack.state import read_mode
from opsbook.waiting import wait_until

DEFAULT_CONCURRENCY = 2
"""Task slots per worker (``--concurrency``) unless told otherwise."""

HEARTBEAT_TIMEOUT_S = 10
"""``[scheduler] task_instance_heartbeat_timeout`` in class (default 300 s: ~310 s to retry).

Running tasks heartbeat every second (:data:`opsbook.airflow.env.HEARTBEAT_INTERVAL_S`), so 10 s
is ten missed heartbeats, not two as it would be with the 5 s default interval."""

HEARTBEAT_DETECTION_S = 2
"""``[scheduler] task_instance_heartbeat_timeout_detection_interval`` in class (default 10 s)."""

CELERY_PARALLELISM = 16
"""``[core] parallelism`` in Celery mode: room for 1 worker × 8 slots or 2 × 2 and more."""

QUEUED_TIMEOUT_S = 120
"""``[scheduler] task_queued_timeout`` in class (default 600 s). A worker killed with ``kill -9``
takes with it the messages it had already taken from Redis but not started: the task instance
stays ``queued`` and Redis hands the message out again only after the visibility timeout
(6 h). Airflow's answer is to revoke and requeue tasks queued for longer than this (seen in the
day-4 kill drill on a second run: one task stuck in ``queued``, run not finished in 300 s)."""

QUEUED_CHECK_S = 15
"""``[scheduler] task_queued_timeout_check_interval`` in class (default 120 s)."""

WARM_SHUTDOWN_WAIT_S = 180
"""Seconds supervisord waits for a worker's running tasks before SIGKILL when removing it."""


def sqlalchemy_url(cfg: Settings = settings) -> str:
    """SQLAlchemy URL of the metadata database as the stack's least-privilege role (psycopg2).

    See :mod:`opsbook.stack.pg_role`: never the superuser of ``OPSBOOK_PG_DSN``.
    """
    parts = urlsplit(pg_role.app_dsn(cfg))
    return urlunsplit(("postgresql+psycopg2", *parts[1:]))


def ensure_database(cfg: Settings = settings) -> bool:
    """Provision the role and the metadata database (idempotent, see :mod:`~.pg_role`).

    Args:
        cfg: settings whose ``pg_dsn`` names the database and the administrative user.

    Returns:
        True when the database was created now, False when it already existed.

    Raises:
        RuntimeError: when PostgreSQL does not answer (says how to start it).
    """
    return pg_role.provision(cfg).created_database


def redis_key_prefix(cfg: Settings = settings) -> str:
    """Redis key prefix of this stack's broker (isolates stacks sharing one Redis)."""
    return f"{pg_database(cfg)}:"


def airflow_env_overrides(cfg: Settings = settings) -> dict[str, str]:
    """Airflow variables that turn the default configuration into the Celery mode.

    Merge them over :func:`opsbook.airflow.env.airflow_env` for every Airflow process
    (api-servers, schedulers, dag-processor, triggerer, workers, ``db migrate``). The database
    is created if missing.

    Args:
        cfg: settings giving the PostgreSQL DSN, the Redis URL and the front-door port.

    Returns:
        Variable name → value.
    """
    from opsbook.airflow.env import dag_bundles
    from opsbook.airflow.releases import bundle_configs

    ensure_database(cfg)
    db_url = sqlalchemy_url(cfg)
    bundles = dag_bundles(cfg) + bundle_configs(cfg)
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
        "AIRFLOW__CORE__PARALLELISM": str(CELERY_PARALLELISM),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(CELERY_PARALLELISM),
        # Workers reach the execution API through the front door: a blue-green switch
        # moves them together with the users, and running tasks survive it.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{cfg.front_door_url}/execution/",
        "AIRFLOW__CELERY__BROKER_URL": cfg.redis_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{db_url}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(DEFAULT_CONCURRENCY),
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": redis_key_prefix(cfg),
        # Classroom heartbeat settings: a dead worker's tasks are retried in ~15 s, not ~310 s.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": str(
            HEARTBEAT_DETECTION_S
        ),
        # A task lost with a killed worker's prefetched message is requeued in ~2 min.
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(QUEUED_TIMEOUT_S),
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": str(QUEUED_CHECK_S),
        # DAG releases as a versioned git bundle, next to an unversioned folder (contrast).
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        # Clones of versioned bundles stay in this stack's var (default: a shared /tmp folder).
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(cfg.airflow_home / "dag_bundles"),
    }


def worker_name(n: int) -> str:
    """Supervisord program name of worker ``n`` (``worker-1``, ``worker-2`` ...)."""
    return f"worker-{n}"


def worker_hostname(n: int, cfg: Settings = settings) -> str:
    """Celery node name of worker ``n``: ``worker-n@<database>`` (unique per stack)."""
    return f"{worker_name(n)}@{pg_database(cfg)}"


def worker_program(
    n: int, cfg: Settings = settings, concurrency: int = DEFAULT_CONCURRENCY
) -> Program:
    """The supervised program of Celery worker ``n``.

    Args:
        n: worker number (1-based).
        cfg: settings.
        concurrency: task slots of this worker.

    Returns:
        A :class:`~opsbook.stack.programs.Program` named ``worker-n``; stopping it is a warm
        shutdown (SIGTERM: running tasks finish first, new ones are not taken).
    """
    if n < 1:
        raise ValueError(f"número de worker {n} inválido: empieza en 1")
    if concurrency < 1:
        raise ValueError(f"concurrency={concurrency} inválido: usa 1 o más ranuras")
    return Program(
        name=worker_name(n),
        command=airflow_argv(
            "celery", "worker",
            "--skip-serve-logs",
            "--concurrency", str(concurrency),
            "--celery-hostname", worker_hostname(n, cfg),
            "--without-mingle", "--without-gossip",
        ),
        env={"AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency)},
        autorestart=False,
        stopsignal="TERM",
        stopwaitsecs=WARM_SHUTDOWN_WAIT_S,
        startsecs=3,
    )


def worker_programs(
    cfg: Settings = settings, workers: int = 2, concurrency: int = DEFAULT_CONCURRENCY
) -> list[Program]:
    """The programs of ``workers`` Celery workers (``worker-1`` … ``worker-N``).

    Args:
        cfg: settings.
        workers: how many workers (0 is allowed: a stack with no worker queues tasks only).
        concurrency: task slots per worker.

    Raises:
        ValueError: for a negative number of workers.
    """
    if workers < 0:
        raise ValueError(f"workers={workers} inválido: usa 0 o más")
    return [worker_program(n, cfg, concurrency) for n in range(1, workers + 1)]


def celery_app(cfg: Settings = settings):
    """A bare Celery client app on this stack's broker (no Airflow import: fast)."""
    from celery import Celery

    app = Celery("opsbook-inspect", broker=cfg.redis_url)
    app.conf.broker_transport_options = {"global_keyprefix": redis_key_prefix(cfg)}
    app.conf.broker_connection_retry_on_startup = False
    return app


def worker_ping(
    cfg: Settings = settings, timeout_s: float = 3.0, expected: int | None = None
) -> dict[str, bool]:
    """``celery inspect ping`` of this stack's workers.

    Args:
        cfg: settings.
        timeout_s: seconds to wait for the replies.
        expected: stop waiting as soon as this many workers replied (default: wait the
            whole ``timeout_s``, so every live worker is heard).

    Returns:
        Celery node name → True for every worker that answered ``pong``.
    """
    app = celery_app(cfg)
    try:
        replies = app.control.inspect(timeout=timeout_s, limit=expected).ping() or {}
    finally:
        app.close()
    return {node: reply.get("ok") == "pong" for node, reply in sorted(replies.items())}


def wait_for_workers(cfg: Settings, workers: int, timeout_s: float) -> dict[str, bool]:
    """Wait until exactly the workers ``worker-1`` … ``worker-N`` answer Celery's ping.

    "RUNNING" in supervisord is not "ready": a worker answers only once it consumes from the
    broker, seconds later. Measured on day 4 (2026-12-08): ``up`` in Celery mode returned
    before either worker answered and the notebook's ping got ``{}``.

    Returns:
        Celery node name → True for each wanted worker.

    Raises:
        WaitTimeout: not exactly those workers answered before ``timeout_s``.
    """
    hosts = {worker_hostname(n, cfg) for n in range(1, workers + 1)}
    pong = wait_until(lambda: worker_ping(cfg, timeout_s=2.0, expected=len(hosts) or None),
                      timeout_s, 1.0, f"respondan al ping justo los workers {sorted(hosts)}",
                      until=lambda pong: {h for h, ok in pong.items() if ok} == hosts)
    return {h: pong[h] for h in sorted(hosts)}


def as_running(progs: list[Program], cfg: Settings = settings) -> list[Program]:
    """Replace each program's argv and environment by those it is supervised with now.

    Scaling and deploying must never restart a program they do not touch: if the code's
    configuration drifted since ``stack up``, re-planning would change every spec and
    supervisord would restart the whole stack. Programs without a spec are kept as given.
    """
    out = []
    for prog in progs:
        spec = sup.spec_dir(cfg) / f"{prog.name}.json"
        if spec.exists():
            data = json.loads(spec.read_text())
            env = {k: v for k, v in data["env"].items() if k != sup.STACK_MARK}
            prog = dataclasses.replace(prog, command=data["argv"], env=env)
        out.append(prog)
    return out


def current_workers(cfg: Settings = settings) -> list[str]:
    """Names of the ``worker-N`` programs the running stack has (from its recorded mode)."""
    names = [p["name"] for p in read_mode(cfg).get("programs", [])]
    return sorted((n for n in names if n.startswith("worker-")), key=lambda n: int(n[7:]))
