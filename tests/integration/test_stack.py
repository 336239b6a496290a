"""End to end on the live stack: REST trigger → success → metrics in Prometheus; auth; sockets."""

from __future__ import annotations

import json

import httpx
import pytest
from procmem import shared_dirty_mib

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def _prom_value(prom, expr: str) -> float | None:
    result = prom.custom_query(expr)
    return sum(float(r["value"][1]) for r in result) if result else None


def _poll(fn, predicate, timeout_s: float, what: str):
    from opsbook.waiting import WaitTimeout, wait_until

    try:
        return wait_until(fn, timeout_s, 1.0, what, until=predicate)
    except WaitTimeout as exc:
        raise AssertionError(str(exc)) from None


@pytest.fixture(scope="module")
def prom(live_stack):
    from prometheus_api_client import PrometheusConnect

    return PrometheusConnect(url=live_stack.prometheus_url, disable_ssl=True)


@pytest.fixture(scope="module")
def smoke_run(live_stack, prom):
    """Trigger ``smoke`` once through the official client and wait for its end."""
    from opsbook.airflow import client as airflow_api

    before = _prom_value(prom, 'airflow_dagrun_duration_count{dag_id="smoke"}') or 0.0
    airflow_api.wait_for_dag("smoke", timeout_s=120)
    run_id = airflow_api.trigger_dag("smoke")
    state = airflow_api.wait_for_run("smoke", run_id, timeout_s=240)
    return {"run_id": run_id, "state": state, "count_before": before}


def test_smoke_dag_succeeds_via_rest(smoke_run):
    from opsbook.airflow import client as airflow_api

    assert smoke_run["state"] == "success"
    tis = airflow_api.task_instances("smoke", smoke_run["run_id"])
    assert sorted(t["task_id"] for t in tis) == ["ping", "pong"]
    assert {str(t["state"]).split(".")[-1].lower() for t in tis} == {"success"}


def test_dagrun_duration_reaches_prometheus(smoke_run, prom):
    expr = 'airflow_dagrun_duration_count{dag_id="smoke"}'
    value = _poll(
        lambda: _prom_value(prom, expr),
        lambda v: v is not None and v > smoke_run["count_before"],
        timeout_s=60,
        what=expr,
    )
    assert value >= smoke_run["count_before"] + 1


def test_scheduler_heartbeat_in_prometheus(live_stack, prom):
    expr = "airflow_scheduler_heartbeat"
    first = _poll(lambda: _prom_value(prom, expr), lambda v: v is not None, 60, expr)
    _poll(lambda: _prom_value(prom, expr), lambda v: v is not None and v > first, 60, expr)


def test_viewer_gets_403_on_trigger(live_stack):
    from airflow_client.client.exceptions import ForbiddenException
    from opsbook.airflow import client as airflow_api

    with pytest.raises(ForbiddenException) as info:
        airflow_api.trigger_dag("smoke", user="student", unpause_first=False)
    assert info.value.status == 403


def test_every_listening_port_is_loopback(live_stack):
    from opsbook.stack import health

    sockets = health.listening_sockets(live_stack)
    ports = {s["port"] for s in sockets if s["proto"] == "tcp"}
    assert live_stack.ports.airflow in ports and live_stack.ports.prometheus in ports
    assert health.non_loopback_listeners(live_stack) == []


def test_status_reports_every_component_healthy(live_stack):
    from opsbook.stack import lifecycle as stack

    st = stack.status()
    assert st["healthy"] is True
    for name in ("api-server", "scheduler", "dag-processor", "triggerer", "prometheus"):
        assert st["components"][name]["healthy"], name
        assert st["components"][name]["pid"] == stack.component_pid(name)


def test_up_gave_every_cpu_back_to_every_thread_of_the_stack(live_stack):
    """While it starts the api-server, ``up`` keeps the rest of the stack off one core; once
    healthy, every thread of every process of the stack may use every CPU again."""
    import os

    import psutil
    from opsbook.stack import health, state

    cpus = set(os.sched_getaffinity(0))
    confined = {}
    for proc in health.stack_processes(live_stack):
        try:
            for thread in proc.threads():
                if set(os.sched_getaffinity(thread.id)) != cpus:
                    confined[(proc.pid, thread.id)] = os.sched_getaffinity(thread.id)
        except (psutil.Error, ProcessLookupError):
            continue  # gone while we looked (a task process)
    assert confined == {}
    assert not state.cpu_share_marker(live_stack).exists()
    reserved, confined_at_start = state.read_mode(live_stack).get("reserved_core", [None, 0])
    if len(cpus) > 1 and reserved is not None:
        assert reserved == min(cpus) and confined_at_start >= 1


def test_front_door_proxies_to_api_server(live_stack):
    from opsbook.airflow.paths import health_url as airflow_health_url

    resp = httpx.get(airflow_health_url(live_stack.front_door_url), timeout=10)
    assert resp.status_code == 200 and "scheduler" in resp.json()


def test_drill_bundle_reports_a_broken_dag_live(live_stack):
    """A broken file dropped in the drill bundle shows up as an import error (repo untouched)."""
    from opsbook.airflow import client as airflow_api
    from opsbook.airflow.env import drill_dags_dir

    broken = drill_dags_dir(live_stack) / "opsbook_test_roto.py"
    broken.write_text("from airflow.sdk import dag\n\n@dag(schedule=None\ndef roto(): pass\n")
    try:
        errors = _poll(
            lambda: [
                e
                for e in airflow_api.import_errors(bundle_name="drill")
                if e["filename"].endswith("opsbook_test_roto.py")
            ],
            bool,
            timeout_s=90,
            what="import error of the drill bundle",
        )
        assert "SyntaxError" in errors[0]["stack_trace"]
    finally:
        broken.unlink(missing_ok=True)
    _poll(
        lambda: [
            e
            for e in airflow_api.import_errors(bundle_name="drill")
            if e["filename"].endswith("opsbook_test_roto.py")
        ],
        lambda v: v == [],
        timeout_s=90,
        what="import error cleared after removing the file",
    )


def test_execution_api_serves_only_the_task_sdk_version(live_stack):
    """The api-server runs with ``opsbook.airflow.lean_execution_api`` installed."""
    from airflow.sdk.api.datamodels._generated import API_VERSION
    from opsbook import loopback

    url = f"http://127.0.0.1:{live_stack.ports.airflow}/execution/health"
    assert loopback.get(url, headers={"Airflow-API-Version": API_VERSION}).status_code == 200
    assert loopback.get(url, headers={"Airflow-API-Version": "2025-04-11"}).status_code == 404


def test_airflow_components_are_forks_of_the_zygote(live_stack):
    """Each component is supervisord's child, titled like its command, and still shares the
    Airflow heap supervisord imported (an exec'd Python shares no written page)."""
    import psutil
    from opsbook.stack import lifecycle, supervisor_conf

    assert lifecycle.read_mode(live_stack)["executor"] == "local"  # Celery: day 4, test_blue_green
    sup_pid = supervisor_conf.supervisord_pid(live_stack)
    assert "opsbook.stack.zygote" in " ".join(psutil.Process(sup_pid).cmdline())
    imported = json.loads((live_stack.run_dir / "zygote.json").read_text())
    assert imported["modules"] > 1000, imported
    for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
        pid = lifecycle.component_pid(name, live_stack)
        proc = psutil.Process(pid)
        assert proc.ppid() == sup_pid, name
        title = " ".join(proc.cmdline())
        assert "zygote" not in title and ("quick_exit" in title or "airflow" in title), title
        assert shared_dirty_mib(pid) > 20, (name, shared_dirty_mib(pid))
    for name in ("statsd-bridge", "alert-receiver"):  # exec'd as before: nothing shared
        assert shared_dirty_mib(lifecycle.component_pid(name, live_stack)) < 5, name
