"""The Airflow configuration of opsbook, as environment variables.

Why this module exists: every Airflow process of the course (api-server, scheduler,
dag-processor, triggerer, Celery workers, ``airflow db migrate``, the DAG tests that build an
``AIRFLOW_HOME`` in a temporary folder) must share exactly the same configuration: the same
metadata database, the same secrets (JWT, Fernet, API secret key), the same StatsD target and
the same DAG bundles. Generating it in one function from :mod:`opsbook.settings` keeps them in
sync; no ``airflow.cfg`` is edited by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from opsbook.settings import COURSE_USERS, HOST, Settings, settings

EXECUTORS = {"local": "opsbook.airflow.lean_executor.LeanLocalExecutor", "celery": "CeleryExecutor"}
"""Executor names accepted by :func:`airflow_env` → Airflow executor class. Local mode runs
upstream's LocalExecutor without pre-forked workers (:mod:`opsbook.airflow.lean_executor`)."""

LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
BUNDLE_REFRESH_S = 3
"""Seconds between two listings of a DAG bundle: new or broken DAG files show up within ~5 s."""

MIN_FILE_PROCESS_INTERVAL_S = 5
"""``[dag_processor] min_file_process_interval`` (default 30 s): how often each DAG file is parsed
again. The dag-processor publishes ``dag_processing.import_errors`` only when its queue empties,
and drops a failure callback whose file is being parsed until the next full loop, so this
interval bounds how late an import error (day 1, day 3's escalation) or a repair is seen and how
late a dropped callback runs. 5 s costs ~2 % more of one core on an idle stack (four small DAG
files; day 1 measures each file's parse CPU against this interval)."""

SCHEDULER_IDLE_SLEEP_S = 0.25
"""``[scheduler] scheduler_idle_sleep_time`` (default 1 s): how long an idle scheduler loop sleeps.
A task that ends is seen by the next loop, so each task → next task hand-off waits half of it on
average."""

HEARTBEAT_INTERVAL_S = 1
"""``[workers] min_heartbeat_interval`` (default 5 s): how often a running task heartbeats, and
the longest the task supervisor sleeps before noticing that its task process exited."""

MAX_FAILED_HEARTBEATS = 15
"""``[workers] max_failed_heartbeats`` (default 3): with 1 s heartbeats, the same ~15 s of API
outage a running task tolerates with the defaults (a naive api-server restart lasts less)."""


def drill_dags_dir(cfg: Settings = settings) -> Path:
    """Folder of the ``drill`` DAG bundle (day 1 copies deliberately broken DAGs here).

    Args:
        cfg: the settings whose ``var`` folder holds the Airflow home.
    """
    return cfg.airflow_home / "drill_dags"


def dag_bundles(cfg: Settings = settings) -> list[dict]:
    """The two local DAG bundles: ``dags`` (the repository) and ``drill`` (under ``var``).

    Args:
        cfg: the settings that locate both folders.

    Returns:
        The list Airflow reads from ``[dag_processor] dag_bundle_config_list``.
    """
    return [
        {
            "name": "dags",
            "classpath": LOCAL_BUNDLE,
            "kwargs": {"path": str(cfg.dags_dir), "refresh_interval": BUNDLE_REFRESH_S},
        },
        {
            "name": "drill",
            "classpath": LOCAL_BUNDLE,
            "kwargs": {"path": str(drill_dags_dir(cfg)), "refresh_interval": BUNDLE_REFRESH_S},
        },
    ]


def sqlite_url(cfg: Settings = settings) -> str:
    """SQLAlchemy URL of the SQLite metadata database of ``cfg``."""
    return f"sqlite:///{cfg.airflow_home / 'airflow.db'}"


def airflow_env(cfg: Settings = settings, executor: str = "local") -> dict[str, str]:
    """Environment variables that configure one Airflow process of the stack.

    The result holds only Airflow/Python variables; merge it over ``os.environ``. For a
    throw-away home (DAG tests), pass ``dataclasses.replace(settings, var=tmp_path)``.

    Args:
        cfg: settings giving ports, folders and secrets.
        executor: ``"local"`` (LocalExecutor + SQLite) or ``"celery"`` (the Celery mode adds
            its own overrides on top, see :mod:`opsbook.stack.celery_mode`).

    Returns:
        A mapping variable name → value (all strings).

    Raises:
        ValueError: for an unknown executor name.
    """
    if executor not in EXECUTORS:
        raise ValueError(
            f"executor={executor!r} no existe: usa uno de {sorted(EXECUTORS)} (p. ej. 'local')"
        )
    sec = cfg.secrets
    api = f"http://{HOST}:{cfg.ports.airflow}"
    users = ",".join(f"{name}:{role}" for name, role in COURSE_USERS.items())
    env = {
        "AIRFLOW_HOME": str(cfg.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(cfg.dags_dir),
        "AIRFLOW__CORE__EXECUTOR": EXECUTORS[executor],
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlite_url(cfg),
        # Every Airflow command otherwise loads alembic's ~100 migration scripts to compare the
        # DB's head with the code's (measured: ~0.12 s of the api-server's start, on the start's
        # critical path, and the scripts' memory in each of the four components). The stack
        # asserts the schema itself before any component starts (opsbook.stack.schema, then
        # `airflow db migrate` when it is not current), as Airflow's docs suggest for this option.
        "AIRFLOW__DATABASE__CHECK_MIGRATIONS": "False",
        "AIRFLOW__CORE__PARALLELISM": str(cfg.parallelism),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "5",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": users,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(cfg.passwords_file),
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": sec["api_secret_key"],
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(cfg.ports.airflow),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__METRICS__STATSD_ON": "True",
        "AIRFLOW__METRICS__STATSD_HOST": HOST,
        "AIRFLOW__METRICS__STATSD_PORT": str(cfg.ports.statsd),
        "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": str(SCHEDULER_IDLE_SLEEP_S),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(dag_bundles(cfg)),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(BUNDLE_REFRESH_S),
        "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(MIN_FILE_PROCESS_INTERVAL_S),
        "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "0",
        "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "10",
        # The 30 s default is exceeded on a busy 2-core machine (seen: tasks bounced back to the
        # queue with "DagBag import timeout"); parse-time cost itself is checked by day 1's suite.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "180",
        # The task supervisor waits on its sockets for up to this interval after a task closes
        # them; when the child has not exited yet, the slot stays taken for the rest of it
        # (measured with the 5 s default: a task done in 0.2 s reported finished 5.0 s later).
        # Same tolerance of an unreachable API server as the defaults (5 s × 3 → 1 s × 15).
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": str(HEARTBEAT_INTERVAL_S),
        "AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS": str(MAX_FAILED_HEARTBEATS),
        "PYTHONWARNINGS": "ignore",
        # glibc keeps up to 8×cores malloc arenas in threaded processes (api-server, triggerer);
        # two are plenty here and cut resident memory.
        "MALLOC_ARENA_MAX": "2",
    }
    return env
