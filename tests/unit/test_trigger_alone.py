"""A fan-out experiment fails the runs an interrupted earlier use left in flight, then triggers."""

from __future__ import annotations

import pytest
from opsbook.airflow import client, dagruns

pytestmark = pytest.mark.unit


def test_fail_active_runs_patches_only_queued_and_running(monkeypatch):
    runs = [{"dag_run_id": "a", "state": "running"}, {"dag_run_id": "b", "state": "success"},
            {"dag_run_id": "c", "state": "queued"}, {"dag_run_id": "d", "state": "failed"}]
    patched = []

    class FakeApi:
        def __init__(self, _client):
            pass

        def patch_dag_run(self, dag_id, run_id, body):
            patched.append((dag_id, run_id, body.state.value if body.state else None))

    def dag_runs(dag_id, limit, url, states=None):  # the API filters by state, like Airflow's
        assert states == client.ACTIVE_STATES
        return [r for r in runs if r["state"] in states][:limit]

    monkeypatch.setattr(client, "dag_runs", dag_runs)
    monkeypatch.setattr(client, "DagRunApi", FakeApi)
    monkeypatch.setattr(client, "api_client", lambda url: None)
    assert client.fail_active_runs("fanout_io") == ["a", "c"]
    assert patched == [("fanout_io", "a", "failed"), ("fanout_io", "c", "failed")]


def test_trigger_alone_clears_leftovers_before_triggering(monkeypatch):
    calls = []
    monkeypatch.setattr(dagruns.api, "fail_active_runs",
                        lambda dag_id, url: calls.append(("fail", dag_id)) or ["viejo"])
    monkeypatch.setattr(
        dagruns.api, "trigger_dag",
        lambda dag_id, conf, url: calls.append(("trigger", dag_id, conf)) or "nuevo")
    run_client = dagruns.DagRunClient.__new__(dagruns.DagRunClient)
    run_client.base_url = "http://127.0.0.1:1"
    assert run_client.trigger_alone("fanout_io", {"sleep_s": 1}) == "nuevo"
    assert calls == [("fail", "fanout_io"), ("trigger", "fanout_io", {"sleep_s": 1})]
