"""The drill precheck's view of Alertmanager: which active alerts would swallow a drill.

A drill injected while its alert is still firing gets no new notification (Alertmanager only
notifies changes), so the precheck waits until no active alert maps to the drill's incident
type. Checked against a local HTTP server answering like Alertmanager's ``/api/v2/alerts``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opsbook.incidents import drills

pytestmark = pytest.mark.unit


def alert(name, **labels):
    return {"labels": {"alertname": name, **labels}, "status": {"state": "active"}}


@pytest.fixture
def alertmanager():
    """A fake Alertmanager; yields (base URL, list of alerts it serves, list of queries)."""
    served, queries = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            queries.append(self.path)
            body = json.dumps(served).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", served, queries
    server.shutdown()
    server.server_close()


def test_firing_alerts_maps_alerts_to_the_drills_incident_type(alertmanager):
    url, served, queries = alertmanager
    assert drills.firing_alerts("pipeline_down", url) == []
    served += [alert("AirflowSchedulerDown", incident_type="pipeline_down", severity="critical"),
               alert("PipelineDagFailed", incident_type="dag_failure", dag_id="pipeline_ventas")]
    assert drills.firing_alerts("pipeline_down", url) == ["AirflowSchedulerDown"]
    assert "AirflowSchedulerDown" not in drills.firing_alerts("data_corruption", url)
    assert all("active=true" in q and "silenced=false" in q for q in queries)


def test_only_the_trigger_alert_blocks_a_repeated_drill(alertmanager):
    """The critical sibling outlives the episode (10-minute window) but swallows nothing."""
    url, served, _ = alertmanager
    served.append(alert("PipelineLoadFailingRepeatedly", incident_type="db_unreachable",
                        severity="critical", dag_id="pipeline_ventas"))
    assert drills.firing_alerts("db_unreachable", url) == []
    served.append(alert("PipelineLoadFailed", incident_type="db_unreachable",
                        severity="warning", dag_id="pipeline_ventas"))
    assert drills.firing_alerts("db_unreachable", url) == ["PipelineLoadFailed"]
