"""Options Airflow keeps from import time, so a fork of the zygote may also serve the other mode.

Why this module exists: the zygote (:mod:`opsbook.stack.zygote`) imports Airflow once with the
environment of the mode the stack started in (local). Most options are read when they are used,
so a forked child that sets the Celery mode's environment gets the Celery values. A few are
read by module-level code while importing and kept in a module global, a class default or a
CLI default: ``[core] parallelism`` becomes ``BaseExecutor``'s default, the task supervisor keeps
``[scheduler] task_instance_heartbeat_timeout``, the bundle code keeps its storage folder, the
CLI keeps ``[api] port`` and ``[celery] worker_concurrency`` as defaults, two dialect checks keep
``[database] sql_alchemy_conn``. :func:`refresh` re-reads those in the child, with its own
environment, before the component starts.

A spec may differ from the imported environment only in :data:`MAY_DIFFER` (the Celery mode's
overrides, a green slot's port and release label, a broken release's users file); anything
else is exec'd as before. ``tests/unit/test_stack_import_time.py`` traces every option Airflow's
modules read while the zygote imports them (both configuration parsers, core and Task SDK) and
fails if one of :data:`MAY_DIFFER` is read at import and not in :data:`REFRESHED` — so an
Airflow upgrade that keeps one more option cannot make a fork silently differ from an exec.
Airflow has no API to re-read import-time options, hence these lines.
"""

from __future__ import annotations

import sys

MAY_DIFFER = frozenset({
    # the Celery mode (opsbook.stack.celery_mode.airflow_env_overrides)
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__PARALLELISM",
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY",
    "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER",
    "AIRFLOW__CELERY__SYNC_PARALLELISM",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL",
    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH",
    # a green slot (opsbook.deploy.slots) and a broken release (opsbook.deploy.zero_downtime)
    "AIRFLOW__API__PORT",
    "OPSBOOK_RELEASE",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
})
"""Variables in which a forked component's spec may differ from the imported environment."""

REFRESHED = frozenset({
    "core.parallelism",
    "scheduler.task_instance_heartbeat_timeout",
    "dag_processor.dag_bundle_storage_path",
    "api.port",
    "celery.worker_concurrency",
    "database.sql_alchemy_conn",
})
"""Options (``section.key``) of :data:`MAY_DIFFER` that Airflow reads while importing and that
:func:`refresh` reads again."""


class NotRefreshable(RuntimeError):
    """The imported modules cannot take this environment: the program must be exec'd."""


def option_of(variable: str) -> str | None:
    """``section.key`` of an ``AIRFLOW__SECTION__KEY`` variable (None for any other name)."""
    if not variable.startswith("AIRFLOW__"):
        return None
    section, _, key = variable[len("AIRFLOW__"):].partition("__")
    return f"{section}.{key}".lower() if section and key else None


def may_fork(imported: dict, wanted: dict) -> bool:
    """Whether a component with environment ``wanted`` may run in a fork imported with ``imported``.

    Args:
        imported: the environment the zygote imported Airflow with.
        wanted: the program spec's environment.
    """
    changed = {k for k in imported.keys() | wanted.keys() if imported.get(k) != wanted.get(k)}
    return changed <= MAY_DIFFER


def refresh() -> None:
    """Re-read :data:`REFRESHED` from this process's environment into the imported modules.

    Call it in the forked child after setting the component's environment and before Airflow's
    settings are initialised. With the imported environment it changes nothing.

    Raises:
        NotRefreshable: when a kept value cannot change in place (the ID columns' collation
            was fixed when the models were defined and would differ for this database).
    """
    from airflow.cli import cli_config
    from airflow.configuration import conf
    from airflow.dag_processing.bundles import base as bundles
    from airflow.executors import base_executor
    from airflow.models import base as models_base
    from airflow.sdk.configuration import conf as sdk_conf
    from airflow.sdk.definitions import asset
    from airflow.sdk.execution_time import supervisor

    if models_base.get_id_collation_args() != models_base.COLLATION_ARGS:
        raise NotRefreshable("otra base de datos con otra intercalación de IDs")
    parallelism = conf.getint("core", "parallelism")
    base_executor.PARALLELISM = parallelism
    init = base_executor.BaseExecutor.__init__
    init.__defaults__ = (parallelism, *init.__defaults__[1:])
    supervisor.HEARTBEAT_TIMEOUT = sdk_conf.getint("scheduler", "task_instance_heartbeat_timeout")
    bundles.STALE_BUNDLE_TRACKING_FOLDER = bundles.get_bundle_storage_root_path() / "_tracking"
    asset.SQL_ALCHEMY_CONN = sdk_conf.get("database", "SQL_ALCHEMY_CONN", fallback="NOT AVAILABLE")
    cli_config.ARG_API_SERVER_PORT.kwargs["default"] = conf.get("api", "port")
    celery_cli = sys.modules.get("airflow.providers.celery.cli.definition")
    if celery_cli is not None:  # imported with the CLI when the Celery provider is installed
        celery_cli.ARG_CONCURRENCY.kwargs["default"] = conf.getint("celery", "worker_concurrency")
