"""A fork of the zygote that re-reads the import-time options behaves as an exec would.

Two fresh interpreters per check: one imports what the zygote imports with the local mode's
values of :data:`opsbook.stack.import_time.MAY_DIFFER`, switches to the Celery/green values and
calls :func:`~opsbook.stack.import_time.refresh`; the other imports with those values from the
start. The values Airflow kept must be the same. A trace of every option Airflow's modules read
while importing guards the list of re-read options against an Airflow upgrade.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from opsbook.stack import import_time, zygote

pytestmark = pytest.mark.unit

LOCAL = {
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    "AIRFLOW__CORE__PARALLELISM": "4",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////tmp/opsbook-import-time.db",
    "AIRFLOW__API__PORT": "8080",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "16",
}
CELERY = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    "AIRFLOW__CORE__PARALLELISM": "16",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg://u:p@127.0.0.1/x",
    "AIRFLOW__API__PORT": "8081",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "10",
    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": "/tmp/opsbook-import-time-bundles",
}

KEPT = r"""
import importlib, json, os, sys
from opsbook.stack import import_time, zygote
for module in zygote.PRELOAD:
    importlib.import_module(module)
if sys.argv[1] == "switch":
    os.environ.update(json.loads(sys.argv[2]))
    import_time.refresh()
from airflow.cli import cli_config
from airflow.dag_processing.bundles import base as bundles
from airflow.executors import base_executor
from airflow.providers.celery.cli import definition as celery_cli
from airflow.sdk.definitions import asset
from airflow.sdk.execution_time import supervisor
print("KEPT " + json.dumps({
    "parallelism": base_executor.PARALLELISM,
    "executor_default": base_executor.BaseExecutor.__init__.__defaults__[0],
    "heartbeat_timeout": supervisor.HEARTBEAT_TIMEOUT,
    "bundle_tracking": str(bundles.STALE_BUNDLE_TRACKING_FOLDER),
    "asset_conn": asset.SQL_ALCHEMY_CONN,
    "api_port": cli_config.ARG_API_SERVER_PORT.kwargs["default"],
    "worker_concurrency": celery_cli.ARG_CONCURRENCY.kwargs["default"],
}))
"""

TRACE = r"""
import importlib, json, sys
CONF = ("airflow/configuration.py", "/_shared/configuration/", "/configparser.py",
        "airflow/sdk/configuration.py", "/functools.py")
GETTERS = {"get", "getint", "getboolean", "getfloat", "getimport", "getjson", "getlist",
           "has_option", "getsection", "get_mandatory_value", "getenum", "getenumlist",
           "gettimedelta", "get_mandatory_list_value"}
reads = set()

def profile(frame, event, arg):
    code = frame.f_code
    if event != "call" or code.co_name not in GETTERS or not any(
            c in code.co_filename for c in CONF):
        return
    caller = frame.f_back  # only calls into the configuration, not its own calls inside it
    if caller is None or any(c in caller.f_code.co_filename for c in CONF):
        return
    if caller.f_code.co_filename.startswith("<frozen"):
        return  # the configuration module's own validation at import: it keeps nothing
    local = frame.f_locals
    key = local.get("key") or local.get("option")
    reads.add(f"{local.get('section')}.{key or '*'}".lower())  # "*": a whole section

from opsbook.stack import zygote
sys.setprofile(profile)
for module in zygote.PRELOAD:
    importlib.import_module(module)
sys.setprofile(None)
print("READS " + json.dumps(sorted(reads)))
"""


def run(code: str, tag: str, env: dict, tmp_path, *args: str):
    full = {**os.environ, **env, "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
            "_AIRFLOW__AS_LIBRARY": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, env=full, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith(tag + " "))
    return json.loads(line.removeprefix(tag + " "))


def test_a_refreshed_fork_keeps_what_an_exec_with_that_environment_keeps(tmp_path):
    forked = run(KEPT, "KEPT", LOCAL, tmp_path, "switch", json.dumps(CELERY))
    execd = run(KEPT, "KEPT", CELERY, tmp_path, "exec")
    local = run(KEPT, "KEPT", LOCAL, tmp_path, "exec")
    assert forked == execd
    assert execd["parallelism"] == execd["executor_default"] == 16
    assert execd["heartbeat_timeout"] == 10 and execd["api_port"] == "8081"
    differs = {k for k in local if local[k] != execd[k]}
    assert differs == {"parallelism", "executor_default", "heartbeat_timeout",
                       "bundle_tracking", "asset_conn", "api_port", "worker_concurrency"}


def test_every_option_read_while_importing_that_may_differ_is_refreshed(tmp_path):
    reads = set(run(TRACE, "READS", LOCAL, tmp_path)) | set(run(TRACE, "READS", CELERY, tmp_path))
    assert {"core.parallelism", "api.port", "scheduler.num_runs"} <= reads  # the trace works
    may_differ = {import_time.option_of(v) for v in import_time.MAY_DIFFER} - {None}
    assert may_differ & reads <= import_time.REFRESHED, may_differ & reads - import_time.REFRESHED
    assert import_time.REFRESHED <= may_differ
    assert not any(r.endswith(".*") and r[:-2] in {m.split(".")[0] for m in may_differ}
                   for r in reads), "a whole section of MAY_DIFFER is read while importing"


def test_only_the_variables_that_may_differ_allow_a_fork():
    base = {"AIRFLOW_HOME": "/tmp/af", **LOCAL}
    assert import_time.may_fork(base, {**base, **CELERY, "OPSBOOK_RELEASE": "v2"})
    assert not import_time.may_fork(base, {**base, "AIRFLOW__CORE__DAGS_FOLDER": "/otra"})
    assert not import_time.may_fork(base, {**base, "PYTHONPATH": "/otra"})
    assert not import_time.may_fork(base, {k: v for k, v in base.items() if k != "AIRFLOW_HOME"})
    assert import_time.option_of("AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT") \
        == "celery_broker_transport_options.visibility_timeout"
    assert import_time.option_of("OPSBOOK_RELEASE") is None


def test_the_celery_mode_and_a_green_slot_differ_only_in_what_may_differ(monkeypatch, tmp_path):
    import dataclasses

    from opsbook.settings import settings
    from opsbook.stack import celery_mode

    monkeypatch.setattr(celery_mode, "ensure_database", lambda cfg: None)
    cfg = dataclasses.replace(settings, var=tmp_path / "var")
    assert set(celery_mode.airflow_env_overrides(cfg)) <= import_time.MAY_DIFFER
    assert set(celery_mode.worker_program(1, cfg).env) <= import_time.MAY_DIFFER
    assert zygote.PRELOAD  # the modules traced above are the zygote's
