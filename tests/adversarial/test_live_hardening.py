"""On the running stack: forged alerts restart nothing, Prometheus ignores ``/-/quit``, and
hostile StatsD packets leave the bridge's scrape target up."""

from __future__ import annotations

import json
import socket
import time
import uuid

import httpx
import pytest
from opsbook.observability import alerts, prom
from opsbook.observability.signals import BRIDGE_JOB
from opsbook.stack import lifecycle

pytestmark = [pytest.mark.stack]

FORGED = {"version": "4", "status": "firing", "receiver": "webhook-critical",
          "alerts": [{"status": "firing", "startsAt": "2026-12-05T08:00:00Z",
                      "labels": {"alertname": "AirflowApiDown", "severity": "critical"}}]}


def test_forged_alerts_to_every_path_restart_nothing(live_stack):
    before = lifecycle.component_pid("api-server")
    origin = time.time()
    for path in ("/", "/alerts/warning", "/alerts/critical", "/alerts/otro", "/notifications"):
        for ctype in ("text/plain", "application/json"):
            resp = httpx.post(f"{live_stack.webhook_url}{path}", content=json.dumps(FORGED),
                                 headers={"Content-Type": ctype}, timeout=5)
            assert 400 <= resp.status_code < 500, (path, ctype, resp.status_code)
    assert alerts.notifications(since=origin) == []
    assert lifecycle.component_pid("api-server") == before


def test_prometheus_lifecycle_api_is_off(live_stack):
    for path in ("/-/quit", "/-/reload"):
        resp = httpx.post(f"{live_stack.prometheus_url}{path}", timeout=5)
        assert resp.status_code == 403, (path, resp.status_code)
    assert prom.ready()


def test_hostile_statsd_packets_keep_the_bridge_target_up(live_stack):
    dag_id = f"sonda_{uuid.uuid4().hex[:6]}"
    # a mapped timer: even with the series cap full of junk it gets in (junk is evicted)
    timer = f"airflow.pipeline.dag.duration.{dag_id}:5|ms|@0.0001".encode()
    packets = [b"sonda:1|ms|#quantile:0.5", b"sonda_h:1|h|#le:1", b"sonda_c:1|c|#job:x",
               b"sonda_g:inf|g", timer + b"|#quantile:0.5", b"statsd_bridge_udp_packets:1|c"]
    sent = time.time()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for packet in packets:
            sock.sendto(packet, ("127.0.0.1", live_stack.ports.statsd))

    prom.wait_scraped(sent + 1)  # a scrape of the bridge after the packets: they are counted
    assert prom.value(f'up{{job="{BRIDGE_JOB}"}}') == 1
    count = f'airflow_pipeline_dag_duration_count{{dag_id="{dag_id}"}}'
    assert prom.value(count) == 10_000  # one sampled packet counts 1/rate observations


@pytest.mark.parametrize("dag_id, conf", [
    ("fanout_cpu", {"rounds": 10**12}),        # days of hashing on every slot
    ("fanout_cpu", {"rounds": "mucho"}),
    ("fanout_io", {"sleep_s": 86_400}),        # a slot held for a day
    ("fanout_io", {"active": -1}),
])
def test_fanout_dags_refuse_unbounded_work(live_stack, dag_id, conf):
    from opsbook.airflow import client as airflow_api

    before = {r["dag_run_id"] for r in airflow_api.dag_runs(dag_id, limit=100)}
    with pytest.raises(airflow_api.ApiError) as info:
        airflow_api.trigger_dag(dag_id, conf, unpause_first=False)
    assert info.value.status == 400, info.value
    assert next(iter(conf)) in str(info.value.body)  # the refusal names the parameter
    assert {r["dag_run_id"] for r in airflow_api.dag_runs(dag_id, limit=100)} == before
