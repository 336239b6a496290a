"""Celery mode pieces that need no service: worker programs, overrides, DAG release repo."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import pytest
from opsbook.airflow import releases as dag_releases
from opsbook.settings import settings
from opsbook.stack import celery_mode
from opsbook.stack.programs import airflow_argv

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path):
    return dataclasses.replace(settings, var=tmp_path / "var")


def test_worker_programs_are_supervised_warm_shutdown_workers(cfg):
    progs = celery_mode.worker_programs(cfg, workers=3, concurrency=4)
    assert [p.name for p in progs] == ["worker-1", "worker-2", "worker-3"]
    for n, prog in enumerate(progs, start=1):
        cmd = prog.command
        assert cmd[:5] == airflow_argv("celery", "worker") and "--skip-serve-logs" in cmd
        assert cmd[cmd.index("--concurrency") + 1] == "4"
        assert cmd[cmd.index("--celery-hostname") + 1] == celery_mode.worker_hostname(n, cfg)
        assert prog.stopsignal == "TERM" and prog.stopwaitsecs >= 60 and not prog.autorestart
    assert len({celery_mode.worker_hostname(n, cfg) for n in (1, 2, 3)}) == 3


@pytest.mark.parametrize("workers,concurrency", [(-1, 2), (1, 0)])
def test_bad_worker_counts_are_clear_errors(cfg, workers, concurrency):
    with pytest.raises(ValueError, match="inválido"):
        celery_mode.worker_programs(cfg, workers, concurrency)


def test_overrides_switch_to_celery_postgres_redis_and_front_door(cfg, monkeypatch):
    monkeypatch.setattr(celery_mode, "ensure_database", lambda c: False)
    env = celery_mode.airflow_env_overrides(cfg)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("/" + celery_mode.pg_database(cfg))
    from urllib.parse import urlsplit

    conn = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])  # the role, never postgres
    assert conn.username == celery_mode.pg_database(cfg) + "_airflow"
    assert conn.password == (cfg.secrets_dir / "postgres_password").read_text().strip()
    assert (cfg.secrets_dir / "postgres_password").stat().st_mode & 0o777 == 0o600
    assert urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"][3:]).username == conn.username
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert env["AIRFLOW__CELERY__BROKER_URL"] == cfg.redis_url
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"{cfg.front_door_url}/execution/"
    # a dead worker's tasks are retried well inside a drill (default: 300 s), yet a live task is
    # never taken for dead: the timeout spans ten of its heartbeats
    from opsbook.airflow.env import airflow_env

    beat = float(airflow_env(cfg)["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"])
    timeout = float(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"])
    detect = float(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL"])
    assert timeout <= 10 and timeout >= 10 * beat and detect <= timeout / 4
    # a task lost with a killed worker's prefetched message is requeued well inside a drill
    assert float(env["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"]) + float(
        env["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL"]) <= 150
    prefix = env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX"]
    assert prefix == celery_mode.pg_database(cfg) + ":"
    listed = json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    bundles = {b["name"]: b for b in listed}
    assert {"dags", "releases", "plain"} <= set(bundles)
    assert bundles["releases"]["classpath"].endswith("GitDagBundle")


def test_dsn_without_database_is_a_clear_error(cfg):
    bad = dataclasses.replace(cfg, pg_dsn="postgresql://postgres@127.0.0.1:5432")
    with pytest.raises(ValueError, match="base de datos"):
        celery_mode.pg_database(bad)


def test_releases_are_git_commits_and_the_plain_folder_is_overwritten(cfg):
    sha1 = dag_releases.release("v1", cfg)
    assert dag_releases.release("v1", cfg) == sha1  # nothing new, no empty commit
    sha2 = dag_releases.release("v2", cfg)
    assert sha2 != sha1
    log = subprocess.run(["git", "-C", str(dag_releases.repo_dir(cfg)), "log", "--format=%s"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert log[:2] == ["release v2", "release v1"]
    plain = (dag_releases.plain_dir(cfg) / f"{dag_releases.DAG_PLAIN}.py").read_text()
    assert 'VERSION = "v2"' in plain
    compile(plain, "plain.py", "exec")


def test_wait_for_workers_returns_once_exactly_the_wanted_workers_answer(cfg, monkeypatch):
    """RUNNING is not ready: ``up`` waits until worker-1 … worker-N answer the ping."""
    one, two = (celery_mode.worker_hostname(n, cfg) for n in (1, 2))
    replies = iter([{}, {one: True}, {one: True, two: False}, {one: True, two: True}])
    asked = []

    def ping(cfg_, timeout_s, expected):
        asked.append(expected)
        return next(replies)

    monkeypatch.setattr(celery_mode, "worker_ping", ping)
    monkeypatch.setattr(celery_mode, "wait_until", _fast_wait_until())
    assert celery_mode.wait_for_workers(cfg, 2, 30) == {one: True, two: True}
    assert asked == [2, 2, 2, 2]


def test_wait_for_workers_times_out_clearly(cfg, monkeypatch):
    from opsbook.waiting import WaitTimeout

    monkeypatch.setattr(celery_mode, "worker_ping", lambda *a, **k: {})
    with pytest.raises(WaitTimeout, match="respondan al ping"):
        celery_mode.wait_for_workers(cfg, 2, 0.3)


def _fast_wait_until():
    """``waiting.wait_until`` polling every millisecond (the replies are scripted)."""
    from opsbook.waiting import wait_until

    return lambda fn, timeout_s, _interval, what, until=bool: wait_until(
        fn, timeout_s, 0.001, what, until=until)
