"""The webhook receiver records authenticated notifications and hands them to the runbook hook."""

from __future__ import annotations

import json

import httpx
import pytest
from alert_samples import alert_payload
from opsbook.observability import alert_guard, alert_receiver

pytestmark = pytest.mark.unit


def _post(url, token, body, path="/alerts/warning", **headers):
    headers = {"Authorization": f"Bearer {token}", **headers}
    if isinstance(body, dict):
        return httpx.post(f"{url}{path}", json=body, headers=headers, timeout=5)
    return httpx.post(f"{url}{path}", content=body, headers=headers, timeout=5)


def test_records_and_serves_notifications(receiver):
    url, token, handed, tmp = receiver
    assert httpx.get(f"{url}/-/ready", timeout=5).status_code == 200
    payload = alert_payload()
    resp = _post(url, token, payload)
    assert resp.status_code == 200 and resp.json()["handed_over"] == 1
    assert handed == [payload]
    lines = (tmp / "n.jsonl").read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["receiver_path"] == "/alerts/warning"
    assert entry["notification"] == payload
    served = httpx.get(f"{url}/notifications", timeout=5).json()
    assert served == [entry]
    later = httpx.get(f"{url}/notifications", params={"since": entry["received_at"] + 1},
                         timeout=5).json()
    assert later == []


def test_bad_json_is_refused_in_spanish_and_nothing_recorded(receiver):
    url, token, handed, tmp = receiver
    resp = _post(url, token, b"{no json", **{"Content-Type": "application/json"})
    assert resp.status_code == 400 and "JSON inválido" in resp.json()["error"]
    assert httpx.get(f"{url}/notifications?since=ayer", timeout=5).status_code == 400
    assert not (tmp / "n.jsonl").exists() and handed == []


def test_repeated_notification_is_recorded_but_handed_over_once(receiver):
    url, token, handed, tmp = receiver
    payload = alert_payload()
    assert [_post(url, token, payload).json()["handed_over"] for _ in range(3)] == [1, 0, 0]
    assert len(handed) == 1
    assert len((tmp / "n.jsonl").read_text().splitlines()) == 3
    resolved = alert_payload(status="resolved")
    assert _post(url, token, resolved).json()["handed_over"] == 1


def test_gate_rate_limits_a_flapping_fingerprint():
    now = [1000.0]
    gate = alert_guard.RecoveryGate(min_interval_s=30, clock=lambda: now[0])
    first = alert_payload(starts="2026-12-05T08:00:00Z")
    again = alert_payload(starts="2026-12-05T08:00:10Z")  # fired again: new startsAt
    other = alert_payload(fingerprint="fp2", starts="2026-12-05T08:00:10Z")
    assert gate.admit(first) is not None
    now[0] += 10
    assert gate.admit(again) is None and gate.suppressed["rate_limited"] == 1
    assert gate.admit(other) is not None  # another alert is not limited by the first
    now[0] += 30
    assert gate.admit(again) is not None


def test_token_compare_needs_the_bearer_scheme_and_the_exact_token():
    assert alert_guard.token_ok("Bearer abc", "abc")
    assert alert_guard.token_ok("bearer abc", "abc")
    assert not alert_guard.token_ok("Basic abc", "abc")
    assert not alert_guard.token_ok("Bearer abcd", "abc")
    assert not alert_guard.token_ok("Bearer ", "")
    assert not alert_guard.token_ok(None, "abc")


def test_dispatch_calls_the_runbook_even_while_automation_is_off(tmp_path, monkeypatch):
    """The pause is the runbook's to honour: a dropped "resolved" left incidents open forever."""
    monkeypatch.setattr(alert_receiver, "automation_off_flag", lambda: tmp_path / "off")
    seen: list[dict] = []
    hook = seen.append
    payload = alert_payload()
    thread = alert_receiver.dispatch(payload, hook)
    assert thread is not None
    thread.join(10)
    assert seen == [payload]
    assert alert_receiver.dispatch(payload, None) is None
    (tmp_path / "off").write_text("off")
    paused = alert_receiver.dispatch(payload, hook)
    assert paused is not None
    paused.join(10)
    assert seen == [payload, payload]


def test_the_stacks_responder_plugs_the_runbook_into_the_receiver(monkeypatch):
    from opsbook.incidents import responder, runbook

    seen = []
    monkeypatch.setattr(alert_receiver, "main", lambda on_notification: seen.append(
        on_notification))
    responder.main()
    assert seen == [runbook.on_notification]


def test_rule_book_follows_rule_file_changes(tmp_path):
    (tmp_path / "a.yml").write_text("groups: [{name: g, rules: [{alert: A, expr: '1',"
                                    " labels: {severity: warning}}]}]\n")
    book = alert_guard.RuleBook(tmp_path)
    assert book.current().labels == {"A": {"severity": "warning"}}
    (tmp_path / "b.yml").write_text("groups: [{name: g, rules: [{record: r, expr: '1'},"
                                    " {alert: B, expr: '1'}]}]\n")
    assert set(book.current().labels) == {"A", "B"}
