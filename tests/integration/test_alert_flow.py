"""An alert fires and resolves through the real Prometheus → Alertmanager → webhook path.

The probe sends, over UDP, the exact StatsD packet the DAG's failure callback sends, for a
probe DAG id whose counter is BORN at 1 — the trap of docs/convenciones.md → Señales — so the test
also proves live that the first failure after a fresh start alerts. The runbook is paused
meanwhile (the probe DAG does not exist); its previous state is restored.
"""

from __future__ import annotations

import time
import uuid

import pytest
from opsbook.observability import alerts, prom, signals

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_dag_failure_alert_fires_reaches_webhook_and_resolves(live_stack):
    dag_id = f"sonda_alertas_{uuid.uuid4().hex[:6]}"
    rule = signals.alert_rule("PipelineDagFailed")
    with alerts.runbook_paused():
        origin = time.time()
        alerts.send_statsd("dag_failure", 1, dag_id)
        series = prom.wait_for(signals.metric_series("dag_failure", dag_id), timeout_s=30)
        assert series["value"].iloc[0] == 1  # born at 1: increase() alone would miss it
        trace = alerts.follow(rule.name, origin, match={"dag_id": dag_id},
                              until="resolved_received", timeout_s=240)
    assert trace.labels["severity"] == rule.severity == "warning"
    assert trace.labels["incident_type"] == "dag_failure"
    assert trace.receiver_path == "/alerts/warning"
    assert origin < trace.received < trace.resolved_received
    # firing needs the `for` duration after the condition became true
    assert trace.firing - trace.active_at >= rule.for_s - 1.0
    assert alerts.find_delivery(alerts.notifications(since=origin), rule.name, "resolved",
                                {"dag_id": dag_id}) is not None
