"""One HTTP client per process, and no connection kept between calls."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opsbook import loopback

LIB = Path(__file__).resolve().parents[2] / "lib" / "opsbook"

pytestmark = pytest.mark.unit


class _Peers(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the server would keep connections alive if asked
    peers: list[int] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).peers.append(self.client_address[1])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def test_calls_share_one_client_and_open_a_fresh_connection_each():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Peers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        first = loopback.client()
        assert [loopback.get(url, timeout=5).text for _ in range(3)] == ["ok"] * 3
        assert loopback.client() is first, "one client per process"
        assert len(set(_Peers.peers)) == 3, "no pooled connection reused (as httpx.get)"
    finally:
        server.shutdown()


def test_a_closed_client_is_replaced():
    loopback.client().close()
    assert not loopback.client().is_closed


def test_no_module_builds_a_client_per_call():
    """``httpx.get`` & co. build a client (and an SSL context) per call: lib uses loopback."""
    per_call = re.compile(r"\bhttpx\.(get|post|put|patch|delete|head|request)\(")
    offenders = [f"{path.relative_to(LIB)}:{n}" for path in LIB.rglob("*.py")
                 if path.name != "loopback.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if per_call.search(line)]
    assert offenders == [], offenders
