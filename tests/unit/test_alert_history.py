"""Alert stage instants come from Prometheus's ``ALERTS`` samples, not from when we looked."""

from __future__ import annotations

import time

import pytest
from opsbook.observability import alerts, signals

pytestmark = pytest.mark.unit


def test_stages_from_samples_even_when_followed_late():
    now = time.time()
    trace = alerts.AlertTrace("PipelineDagFailed", origin=now - 100)
    seen = {"pending": [now - 90, now - 89, now - 80], "firing": [now - 79, now - 78, now - 20]}
    alerts._apply_history(trace, seen, current="inactive", eval_s=1.0)
    assert trace.active_at == trace.pending == now - 90
    assert trace.firing == now - 79
    assert trace.resolved == now - 19  # first evaluation after the last firing sample


def test_still_firing_is_not_resolved():
    now = time.time()
    trace = alerts.AlertTrace("PipelineDagFailed", origin=now - 30)
    alerts._apply_history(trace, {"pending": [], "firing": [now - 10, now - 0.5]},
                          current="firing", eval_s=1.0)
    assert trace.firing == now - 10 and trace.resolved is None
    assert trace.pending == trace.firing  # straight to firing (no `for`): pending = firing


def test_sample_selector_names_alert_labels_and_window():
    expr = signals.alert_samples("PipelineDagFailed", 42, {"dag_id": "pipeline_ventas"})
    assert expr == 'ALERTS{alertname="PipelineDagFailed",dag_id="pipeline_ventas"}[42s]'
    assert signals.last_scrape() == 'timestamp(up{job="statsd-bridge"})'
