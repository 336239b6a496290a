"""Celery mode for real: 2 workers run the fan-out DAG and survive a kill -9 of one of them.

The module switches the live stack to Celery mode (PostgreSQL + Redis) and back to the
default LocalExecutor mode at the end, so the tests and notebooks after it find the default.
"""

from __future__ import annotations

import psutil
import pytest
from opsbook import celery_mode, scaling, stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

UP_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def celery_stack(live_stack):
    stack.up(executor="celery", workers=2, timeout_s=UP_TIMEOUT_S, progress=False)
    yield live_stack
    stack.up(executor="local", timeout_s=UP_TIMEOUT_S, progress=False)


def test_two_workers_answer_ping_and_only_loopback_listens(celery_stack):
    pong = celery_mode.worker_ping(celery_stack)
    assert pong == {
        celery_mode.worker_hostname(1, celery_stack): True,
        celery_mode.worker_hostname(2, celery_stack): True,
    }
    from opsbook.health import non_loopback_listeners

    assert non_loopback_listeners(celery_stack) == []


def test_fanout_runs_green_on_two_workers(celery_stack):
    from opsbook.dagruns import DagRunClient

    client = DagRunClient(cfg=celery_stack)
    try:
        res = scaling.run_fanout(client, "fanout_io", {"sleep_s": 1, "active": 8}, timeout_s=600)
        tis = client.task_instances("fanout_io", res["run_id"])
    finally:
        client.close()
    assert res["state"] == "success"
    assert len(tis) == 16 and {t["state"] for t in tis} == {"success"}
    assert {t["try_number"] for t in tis} == {1}


def test_worker_kill_is_survived_without_double_runs(celery_stack):
    res = scaling.worker_kill_experiment(victim=1, sleep_s=15, active=4, cfg=celery_stack)
    assert res["state"] == "success"
    assert res["killed_tasks"], "the victim was running no task when killed"
    assert res["cleanup"]["orphans"] and res["cleanup"]["survivors"] == []
    for pid in res["cleanup"]["orphans"]:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    for task, info in res["per_task"].items():
        assert info["try1_state"] == "failed", task
        assert info["tries"] == 2 and info["final_state"] == "success", task
    assert res["max_tries"] == 2 and res["double_success"] == []
    assert res["retry_s"] is not None and res["retry_s"] < 120
    assert set(celery_mode.worker_ping(celery_stack).values()) == {True}  # restored


def test_git_bundle_pins_a_running_run_while_the_plain_folder_does_not(celery_stack):
    from opsbook import dag_releases

    rows = {(r["bundle"], r["run"]): r for r in dag_releases.versioning_experiment(
        celery_stack, wait_s=10)}
    assert {r["state"] for r in rows.values()} == {"success"}
    assert (rows["releases", "A"]["inicio"], rows["releases", "A"]["fin"]) == ("v1", "v1")
    assert rows["releases", "B"]["fin"] == "v2"
    assert rows["releases", "A"]["bundle_version"] != rows["releases", "B"]["bundle_version"]
    assert (rows["plain", "A"]["inicio"], rows["plain", "A"]["fin"]) == ("v1", "v2")
