"""The webhook receiver records real HTTP notifications and hands them to the runbook hook."""

from __future__ import annotations

import json
import sys
import threading
import types

import pytest
import requests
from opsbook.observability import alert_receiver

pytestmark = pytest.mark.unit

PAYLOAD = {"status": "firing", "receiver": "webhook-warning",
           "alerts": [{"status": "firing", "labels": {"alertname": "PipelineDagFailed",
                                                       "dag_id": "pipeline_ventas"}}]}


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setattr(alert_receiver, "notifications_file", lambda: tmp_path / "n.jsonl")
    monkeypatch.setattr(alert_receiver, "automation_off_flag", lambda: tmp_path / "off")
    srv = alert_receiver.serve(port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", tmp_path
    srv.shutdown()
    srv.server_close()


def test_records_and_serves_notifications(server):
    url, tmp = server
    assert requests.get(f"{url}/-/ready", timeout=5).status_code == 200
    resp = requests.post(f"{url}/alerts/warning", json=PAYLOAD, timeout=5)
    assert resp.status_code == 200
    lines = (tmp / "n.jsonl").read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["receiver_path"] == "/alerts/warning"
    assert entry["notification"] == PAYLOAD
    served = requests.get(f"{url}/notifications", timeout=5).json()
    assert served == [entry]
    later = requests.get(f"{url}/notifications", params={"since": entry["received_at"] + 1},
                         timeout=5).json()
    assert later == []


def test_bad_input_is_refused_in_spanish_and_nothing_recorded(server):
    url, tmp = server
    resp = requests.post(f"{url}/alerts/warning", data=b"{no json", timeout=5,
                         headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "JSON inválido" in resp.json()["error"]
    assert requests.get(f"{url}/notifications?since=ayer", timeout=5).status_code == 400
    assert not (tmp / "n.jsonl").exists()


def test_runbook_hook_called_unless_automation_off(server, monkeypatch):
    url, tmp = server
    seen: list[dict] = []
    done = threading.Event()
    fake = types.ModuleType("opsbook.incidents.runbook")
    fake.on_notification = lambda n: (seen.append(n), done.set())
    monkeypatch.setitem(sys.modules, "opsbook.incidents.runbook", fake)
    requests.post(f"{url}/alerts/critical", json=PAYLOAD, timeout=5)
    assert done.wait(10) and seen == [PAYLOAD]
    (tmp / "off").write_text("off")
    assert alert_receiver.dispatch(PAYLOAD) is None
    requests.post(f"{url}/alerts/critical", json=PAYLOAD, timeout=5)
    assert len(seen) == 1
    assert len((tmp / "n.jsonl").read_text().splitlines()) == 2
