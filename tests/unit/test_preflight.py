"""The preflight of a course day: fast, and one sentence naming the fix when something fails."""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opsbook.course import preflight
from opsbook.course.preflight import PreflightError
from opsbook.errors import FULL_TRACEBACK_HINT
from opsbook.settings import Ports, settings

pytestmark = pytest.mark.unit


def _free_offset() -> int:
    """An OPSBOOK_PORT_OFFSET whose whole port range has nothing listening."""
    for offset in range(20000, 40000, 137):
        ports = [p + offset for p in (8080, 8081, 8088, 9090, 9093, 9095, 9102, 9125)]
        if all(_free(p) for p in ports):
            return offset
    raise RuntimeError("no free port range")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        body = json.dumps({k: {"status": "healthy"} for k in preflight.AIRFLOW_PARTS}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_stack():
    """Settings whose every component port is served by a server answering 'healthy'."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Healthy) for _ in range(7)]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    airflow, bridge, prom, am, hook, door, node = (s.server_address[1] for s in servers)
    ports = dataclasses.replace(settings.ports, airflow=airflow, bridge=bridge, prometheus=prom,
                                alertmanager=am, webhook=hook, front_door=door,
                                node_exporter=node)
    yield dataclasses.replace(settings, ports=ports)
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _nothing_running():
    offset = _free_offset()
    ports = Ports(**{f.name: getattr(settings.ports, f.name) + offset
                     for f in dataclasses.fields(Ports)})
    return dataclasses.replace(settings, ports=ports)


def test_stack_down_names_make_stack_up_quickly():
    result = preflight.check(1, _nothing_running())
    assert not result.ok
    assert result.seconds < 2
    stack = next(c for c in result.checks if c.name == "stack")
    assert not stack.ok and "`make stack-up`" in stack.detail and "api-server" in stack.detail
    with pytest.raises(PreflightError, match="make stack-up"):
        preflight.require(1, _nothing_running())


def test_healthy_stack_passes_under_two_seconds(fake_stack):
    result = preflight.check(3, fake_stack)
    assert [c.name for c in result.checks if not c.ok] == []
    assert result.seconds < 2
    assert "Todo listo para el día 3" in result.message()


def test_unhealthy_airflow_part_is_named(fake_stack, monkeypatch):
    monkeypatch.setattr(preflight.health, "airflow_health",
                        lambda cfg, timeout: {"metadatabase": {"status": "healthy"},
                                              "scheduler": {"status": "unhealthy"}})
    check = preflight.check_stack(fake_stack)
    assert not check.ok and "scheduler" in check.detail and "triggerer" in check.detail


def test_day_needs():
    assert "stack" not in preflight.DAY_NEEDS[5], "day 5 works from the week's evidence"
    assert {"postgres", "redis"} <= preflight.DAY_NEEDS[4]
    assert "chromium" in preflight.DAY_NEEDS[2]
    with pytest.raises(ValueError, match="del 1 al 5"):
        preflight.check(6)


def test_setup_and_disk_and_services(tmp_path, monkeypatch):
    cfg = dataclasses.replace(settings, root=tmp_path, var=tmp_path / "var")
    check = preflight.check_setup(cfg)
    assert not check.ok and "`make setup`" in check.detail
    assert preflight.check_setup(settings).ok, "this checkout ran make setup"
    low = preflight.check_disk(settings, min_free=1 << 62)
    assert not low.ok and "libera espacio" in low.detail
    offset = _free_offset()
    redis = preflight.check_tcp("Redis", 8080 + offset, preflight.REDIS_FIX)
    assert not redis.ok and preflight.REDIS_FIX in redis.detail
    monkeypatch.setattr(preflight.shutil, "which", lambda name: None)
    chromium = preflight.check_chromium()
    assert not chromium.ok and not chromium.blocking, "screenshots are optional: only a warning"


def test_short_traceback_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    err = PreflightError("El stack no está sano: arráncalo con `make stack-up`.")
    lines = err._render_traceback_()
    assert "PreflightError" in lines[0] and "make stack-up" in lines[0]
    assert lines[-1] == FULL_TRACEBACK_HINT and len(lines) == 2
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as exc:
            raise PreflightError("stack caído") from exc
    except PreflightError as exc:
        shell.InteractiveTB.set_mode("Verbose")
        try:
            full = "\n".join(exc._render_traceback_())
        finally:
            shell.InteractiveTB.set_mode("Context")
    assert "ConnectionRefusedError" in full, "%tb verbose shows the chained library error"


def test_notebooks_run_fails_fast_with_stack_down(tmp_path):
    env = {**os.environ, "OPSBOOK_PORT_OFFSET": str(_free_offset()),
           "OPSBOOK_EVIDENCE_DIR": str(tmp_path), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "opsbook.cli.main", "notebooks", "run",
                           "--only", "dia_1"], env=env, capture_output=True, text=True,
                          timeout=120)
    # "fast" = before any notebook or kernel starts (its seconds are a bench matter, not a test's)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "`make stack-up`" in proc.stderr
    assert "papermill" not in proc.stdout and "Executing" not in proc.stderr, "no notebook starts"
