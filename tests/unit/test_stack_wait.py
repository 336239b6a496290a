"""``wait_healthy`` polls through ``wait_until``: returns when healthy, fails fast, times out;
``warm_execution_api`` calls once, right after the api-server listens."""

from __future__ import annotations

import dataclasses
import http.server
import socket
import threading
import time

import pytest
from opsbook.settings import settings
from opsbook.stack.programs import Program
from opsbook.stack.state import StackError
from opsbook.stack.wait import wait_healthy, warm_execution_api

pytestmark = pytest.mark.unit

PROGS = [Program("scheduler", ["x"]), Program("extra", ["y"], optional=True)]


def _states(state="RUNNING"):
    return lambda: {"scheduler": {"statename": state}}


def test_returns_once_every_needed_program_is_healthy():
    answers = iter([{}, {"scheduler": False}, {"scheduler": True}])
    ok = wait_healthy(settings, PROGS, _states(), lambda cfg: next(answers), timeout_s=5,
                      progress=False)
    assert ok == {"scheduler": True}


def test_a_dead_program_fails_fast_with_its_log():
    with pytest.raises(StackError, match="terminó \\(EXITED\\)"):
        wait_healthy(settings, PROGS, _states("EXITED"), lambda cfg: {}, timeout_s=30,
                     progress=False)


def test_timeout_names_what_is_pending():
    with pytest.raises(StackError, match="pendientes: scheduler"):
        wait_healthy(settings, PROGS, _states(), lambda cfg: {}, timeout_s=0.2, progress=False)


def test_first_healthy_records_when_each_program_turned_healthy():
    progs = [Program("scheduler", ["x"]), Program("api-server", ["y"])]
    answers = iter([{"api-server": True}, {"api-server": True, "scheduler": True}])
    first: dict[str, float] = {}
    wait_healthy(settings, progs, lambda: {}, lambda cfg: next(answers), timeout_s=5,
                 progress=False, first_healthy=first)
    assert set(first) == {"scheduler", "api-server"}
    assert first["api-server"] < first["scheduler"]


def _settings_on(port: int):
    return dataclasses.replace(settings, ports=dataclasses.replace(settings.ports, airflow=port))


def test_warm_calls_the_execution_api_as_soon_as_the_api_server_listens():
    """Nothing listens at first; the warm waits on the port, then makes exactly one call."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    with socket.socket() as probe:  # a free port, bound later by the "api-server"
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    servers: list[http.server.HTTPServer] = []

    def listen_late():
        time.sleep(0.4)
        servers.append(http.server.HTTPServer(("127.0.0.1", port), Handler))
        servers[0].serve_forever(poll_interval=0.05)

    threading.Thread(target=listen_late, daemon=True).start()
    try:
        took = warm_execution_api(_settings_on(port), timeout_s=10)
    finally:
        if servers:
            servers[0].shutdown()
            servers[0].server_close()
    assert seen == ["/execution/health"]
    assert 0.4 <= took < 10


def test_warm_fails_clearly_when_the_api_server_never_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StackError, match="no responde"):
        warm_execution_api(_settings_on(port), timeout_s=0.3)
