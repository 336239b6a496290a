"""The load generator counts what a client would see: 2xx ok, 5xx / refused / slow = failed."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opsbook.deploy.loadgen import API_PATH, HEALTH_PATH, LoadGenerator

pytestmark = pytest.mark.unit


class _Handler(BaseHTTPRequestHandler):
    mode = "ok"
    seen_auth: list[str | None] = []

    def do_GET(self):  # noqa: N802
        type(self).seen_auth.append(self.headers.get("Authorization"))
        if type(self).mode == "slow":
            time.sleep(0.6)
        code = 503 if type(self).mode == "error" else 200
        try:
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        except (BrokenPipeError, ConnectionResetError):
            pass  # a slow answer: the client already timed out and hung up, as the test wants

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.mode, _Handler.seen_auth = "ok", []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def _run_until(load: LoadGenerator, n: int, deadline_s: float = 10.0) -> None:
    end = time.monotonic() + deadline_s
    while len(load.report.samples) < n and time.monotonic() < end:
        time.sleep(0.02)


def test_healthy_server_has_no_failures_and_sends_token_only_to_api(server):
    with LoadGenerator(_url(server), token="abc", rate=50) as load:
        _run_until(load, 20)
    rep = load.report
    summary = rep.summary()
    assert summary["requests"] >= 20 and summary["failed"] == 0
    assert {s.path for s in rep.samples} == {HEALTH_PATH, API_PATH}
    assert "Bearer abc" in _Handler.seen_auth and None in _Handler.seen_auth
    assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["max_ms"]


def test_non_2xx_counts_as_failed(server):
    _Handler.mode = "error"
    with LoadGenerator(_url(server), rate=50) as load:
        _run_until(load, 10)
    summary = load.report.summary()
    assert summary["failed"] == summary["requests"] >= 10
    assert summary["errors"] == {"http_503": summary["failed"]}


def test_slow_answers_count_as_timeouts(server):
    _Handler.mode = "slow"
    with LoadGenerator(_url(server), rate=20, timeout_s=0.3) as load:
        _run_until(load, 5)
    failed = load.report.failed
    assert failed and all(s.error == "timeout" for s in failed)


def test_refused_connections_count_and_rate_is_kept():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    load = LoadGenerator(f"http://127.0.0.1:{port}", rate=40).start()
    _run_until(load, 40)
    load.mark("fin")
    rep = load.stop()
    summary = rep.summary()
    assert summary["failed"] == summary["requests"] >= 40
    assert summary["achieved_rate"] >= 20  # open loop: failures do not slow the schedule
    assert summary["longest_outage_s"] > 0.5
    assert rep.marks and rep.marks[0][1] == "fin"


def test_bad_rate_is_a_clear_error():
    with pytest.raises(ValueError, match="rate"):
        LoadGenerator("http://127.0.0.1:1", rate=0)
