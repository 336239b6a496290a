"""The one Airflow REST client: token errors in Spanish, REST-JSON shapes, waits with last state."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from airflow_client.client.models.dag_run_response import DAGRunResponse
from opsbook.airflow import client as api
from opsbook.airflow import dagruns
from opsbook.airflow.errors import DagRunTimeout
from opsbook.waiting import WaitTimeout

pytestmark = pytest.mark.unit


class _Auth(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ok = body == {"username": "admin", "password": "buena"}
        payload = json.dumps({"access_token": "jwt-123"} if ok else {"detail": "no"}).encode()
        self.send_response(201 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def auth_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Auth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_token_from_any_base_url(auth_server):
    assert api.get_token(auth_server, "admin", "buena") == "jwt-123"


def test_refused_credentials_raise_permission_error(auth_server):
    with pytest.raises(PermissionError, match="credenciales rechazadas"):
        api.get_token(auth_server, "admin", "mala")


def test_unreachable_server_raises_runtime_error_in_spanish():
    with pytest.raises(RuntimeError, match="no se pudo pedir el token"):
        api.get_token("http://127.0.0.1:9", "admin", "x", timeout_s=1)


def test_models_become_rest_json():
    run = DAGRunResponse(
        dag_id="d", dag_run_id="r", dag_display_name="d", run_type="manual", state="success",
        run_after=datetime(2026, 12, 1, tzinfo=UTC), queued_at=datetime(2026, 12, 1, tzinfo=UTC),
        end_date=datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC), dag_versions=[],
    )
    plain = api._plain(run)
    assert plain["state"] == "success" and isinstance(plain["state"], str)
    assert isinstance(plain["end_date"], str)
    assert plain["start_date"] is None  # unset fields are present, as in the REST JSON
    assert dagruns.wall_time_s(plain) == 30.0


def test_wait_for_run_returns_terminal_state(monkeypatch):
    states = iter(["queued", "running", "failed"])
    monkeypatch.setattr(api, "dag_run_state", lambda *a, **k: next(states))
    assert api.wait_for_run("d", "r", timeout_s=5, poll_s=0.01) == "failed"


def test_wait_for_run_timeout_names_run_and_last_state(monkeypatch):
    monkeypatch.setattr(api, "dag_run_state", lambda *a, **k: "queued")
    with pytest.raises(TimeoutError) as info:
        api.wait_for_run("d", "r1", timeout_s=0.05, poll_s=0.01)
    assert isinstance(info.value, DagRunTimeout)
    assert info.value.state == "queued" and "r1 de d" in str(info.value)


def test_wait_for_dag_timeout_without_import_errors_is_a_wait_timeout(monkeypatch):
    def missing(*a, **k):
        raise api.NotFound(status=404, reason="Not Found")

    monkeypatch.setattr(api, "get_dag", missing)
    monkeypatch.setattr(api, "import_errors", lambda *a, **k: [])
    with pytest.raises(WaitTimeout, match="dag-processor en marcha"):
        api.wait_for_dag("nuevo", timeout_s=0.05)


def test_dagrun_client_targets_its_own_base_url(monkeypatch):
    seen = []
    monkeypatch.setattr(api, "api_client", lambda url=None, *a, **k: seen.append(url))
    monkeypatch.setattr(api, "dag_run", lambda dag_id, run_id, url=None: {"url": url})
    client = dagruns.DagRunClient("http://127.0.0.1:1234/")
    assert client.run("d", "r") == {"url": "http://127.0.0.1:1234"}
    assert seen == ["http://127.0.0.1:1234"]


def test_parse_ts_accepts_strings_and_datetimes():
    when = datetime(2026, 12, 1, tzinfo=UTC)
    assert dagruns.parse_ts("2026-12-01T00:00:00Z") == when
    assert dagruns.parse_ts(when) is when
    assert dagruns.parse_ts(None) is None
