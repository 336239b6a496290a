"""Forged and malformed webhook requests: refused with 4xx, never recorded, never handed over.

The real receiver runs on an ephemeral port with a recorder in place of the runbook hook, so
"restarts nothing" is checked exactly: the recorder stays empty.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from alert_samples import alert_payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opsbook.observability import alert_guard, alert_receiver
from opsbook.waiting import wait_until

pytestmark = pytest.mark.unit

PATHS = ["/", "/alerts/warning", "/alerts/critical", "/alerts/human", "/alerts/otro", "/alerts",
         "/notifications", "/-/ready", "/-/quit", "/api/v2/alerts", "/%2e%2e/alerts/critical",
         "/alerts/critical/"]
FORGED = json.dumps(alert_payload("AirflowApiDown")).encode()


def _nothing_happened(handed, tmp):
    assert handed == []
    assert not (tmp / "n.jsonl").exists()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_forged_simple_request_to_every_path_is_refused(receiver, path, method):
    """What any web page can send: no token, text/plain, a real alert name."""
    url, _token, handed, tmp = receiver
    resp = httpx.request(method, f"{url}{path}", content=FORGED, timeout=5,
                            headers={"Content-Type": "text/plain"})
    assert 400 <= resp.status_code < 500, (path, resp.status_code)
    _nothing_happened(handed, tmp)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("auth", ["", "Bearer", "Bearer mal", "Basic dG9rZW4=",
                                  "Bearer token-de-prueba-"])
def test_wrong_or_missing_token_is_refused_even_as_json(receiver, path, auth):
    url, _token, handed, tmp = receiver
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    resp = httpx.post(f"{url}{path}", content=FORGED, headers=headers, timeout=5)
    assert resp.status_code in (401, 405), (path, resp.status_code)
    _nothing_happened(handed, tmp)


@pytest.mark.parametrize(("body", "ctype", "status"), [
    (FORGED, "text/plain", 415),
    (FORGED, "application/x-www-form-urlencoded", 415),
    (FORGED, "", 415),
    (b"[]", "application/json", 400),
    (b"{}", "application/json", 400),
    (b"\xff\xfe{", "application/json", 400),
    (json.dumps({**alert_payload(), "version": "3"}).encode(), "application/json", 400),
    (json.dumps({**alert_payload(), "alerts": "x"}).encode(), "application/json", 400),
    (json.dumps({**alert_payload(), "alerts": []}).encode(), "application/json", 400),
    (json.dumps(alert_payload("NoExiste")).encode(), "application/json", 422),
    (json.dumps(alert_payload("AirflowApiDown", severity="warning")).encode(),
     "application/json", 422),
    (json.dumps(alert_payload(incident_type="otro")).encode(), "application/json", 422),
    (json.dumps(alert_payload(**{"bad-label": "x"})).encode(), "application/json", 422),
    (json.dumps(alert_payload(dag_id="x" * 5000)).encode(), "application/json", 422),
])
def test_authenticated_but_malformed_or_unknown_is_refused(receiver, body, ctype, status):
    url, token, handed, tmp = receiver
    headers = {"Authorization": f"Bearer {token}", "Content-Type": ctype}
    resp = httpx.post(f"{url}/alerts/critical", content=body, headers=headers, timeout=5)
    assert resp.status_code == status, resp.text
    assert "error" in resp.json()
    _nothing_happened(handed, tmp)


def test_too_many_alerts_in_one_notification_are_refused(receiver):
    url, token, handed, tmp = receiver
    one = alert_payload()
    body = {**one, "alerts": one["alerts"] * (alert_guard.MAX_ALERTS + 1)}
    resp = httpx.post(f"{url}/alerts/warning", json=body, timeout=5,
                         headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 400
    _nothing_happened(handed, tmp)


def _raw(url: str, data: bytes, timeout: float = 5.0) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_oversized_body_is_refused_before_it_is_read(receiver):
    url, token, handed, tmp = receiver
    head = (f"POST /alerts/critical HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n")
    started = time.monotonic()
    answer = _raw(url, head.encode() + b"{" * 1024)
    assert answer.startswith(b"HTTP/1.0 413") and time.monotonic() - started < 3
    _nothing_happened(handed, tmp)


def test_chunked_body_without_length_is_refused(receiver):
    url, token, handed, tmp = receiver
    head = (f"POST /alerts/critical HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            f"{len(FORGED):x}\r\n").encode() + FORGED + b"\r\n0\r\n\r\n"
    assert _raw(url, head).startswith(b"HTTP/1.0 411")
    _nothing_happened(handed, tmp)


def test_a_client_that_stalls_is_dropped_and_others_are_served(receiver, monkeypatch):
    url, token, handed, tmp = receiver
    monkeypatch.setattr(alert_receiver.Handler, "timeout", 0.5)
    monkeypatch.setattr(alert_receiver, "READ_TIMEOUT_S", 0.5)
    host, port = url.removeprefix("http://").split(":")
    stalled = socket.create_connection((host, int(port)), timeout=10)
    stalled.sendall((f"POST /alerts/critical HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     f"{token}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
                     "{").encode())
    assert httpx.get(f"{url}/-/ready", timeout=5).status_code == 200  # not blocked
    started = time.monotonic()
    answer = stalled.recv(65536)
    stalled.close()
    assert answer.startswith(b"HTTP/1.0 408") and time.monotonic() - started < 5
    _nothing_happened(handed, tmp)


def test_idle_connections_cannot_hold_the_receiver(receiver, monkeypatch):
    """A flood of idle connections is shed; the receiver answers again once they time out."""
    url, token, handed, tmp = receiver
    monkeypatch.setattr(alert_receiver.Handler, "timeout", 0.5)
    assert alert_receiver.ReceiverServer.request_queue_size >= 128
    port = int(url.rsplit(":", 1)[1])
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5)
             for _ in range(alert_receiver.MAX_CONCURRENT + 20)]

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, timeout=10, interval=0.2, what="el receptor responde de nuevo")
        assert _post_ok(url, token)
    finally:
        for sock in socks:
            sock.close()


def _post_ok(url: str, token: str) -> bool:
    resp = httpx.post(f"{url}/alerts/warning", json=alert_payload(), timeout=5,
                         headers={"Authorization": f"Bearer {token}"})
    return resp.status_code == 200


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.binary(max_size=2048),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                 max_leaves=20).map(lambda v: json.dumps(v).encode()),
))
def test_fuzzed_authenticated_bodies_never_reach_the_runbook(receiver, body):
    url, token, handed, _tmp = receiver
    resp = httpx.post(f"{url}/alerts/critical", content=body, timeout=5,
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500
    assert handed == []


def test_every_alertmanager_webhook_path_is_accepted_by_the_receiver():
    """A receiver path Alertmanager posts to but the guard refuses loses every such alert."""
    from urllib.parse import urlsplit

    import yaml
    from opsbook.observability.alert_guard import RECEIVER_PATHS
    from opsbook.settings import settings

    source = settings.root / "monitoring" / "alertmanager" / "alertmanager.yml"
    config = yaml.safe_load(source.read_text())
    paths = {urlsplit(hook["url"]).path for receiver in config["receivers"]
             for hook in receiver.get("webhook_configs") or []}
    assert paths and paths <= RECEIVER_PATHS, paths - RECEIVER_PATHS
