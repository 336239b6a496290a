"""The DAG-callback ledger: records keyed by run, robust to a torn line, never raising."""

from __future__ import annotations

import pytest
from opsbook.observability import callback_ledger, pipeline_metrics

pytestmark = pytest.mark.unit


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    path = tmp_path / "airflow" / "dag_callbacks.jsonl"
    monkeypatch.setattr(callback_ledger, "ledger_path", lambda: path)
    return path


def test_records_are_keyed_by_run_and_filtered_by_dag(ledger):
    assert callback_ledger.recorded("pipeline_ventas") == {}
    assert callback_ledger.record("pipeline_ventas", "manual__1", "success")
    assert callback_ledger.record("otro_dag", "manual__1", "failed")
    assert callback_ledger.record("pipeline_ventas", "manual__2", "failed")
    ledger.open("a").write('{"dag_id": "pipeline_ventas", "run_id": "cut')  # torn last line
    seen = callback_ledger.recorded("pipeline_ventas")
    assert set(seen) == {"manual__1", "manual__2"}
    assert seen["manual__1"]["state"] == "success" and seen["manual__2"]["state"] == "failed"
    assert seen["manual__1"]["at"] <= seen["manual__2"]["at"]


def test_unwritable_ledger_reports_false_instead_of_breaking_the_callback(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(callback_ledger, "ledger_path", lambda: blocker / "ledger.jsonl")
    assert callback_ledger.record("pipeline_ventas", "manual__1", "success") is False


def test_dag_callbacks_emit_then_record_the_run(ledger, monkeypatch):
    sent = []
    monkeypatch.setattr(pipeline_metrics, "init_stats", lambda: None)
    monkeypatch.setattr(pipeline_metrics, "emit", lambda name, value, dag_id: sent.append(name))

    class Run:
        run_id = "scheduled__2026-11-26"
        start_date = end_date = None

    pipeline_metrics.on_dag_failure({"dag_run": Run()})
    assert sent == ["dag_failure", "dag_duration"]
    assert callback_ledger.recorded("pipeline_ventas")["scheduled__2026-11-26"]["state"] == "failed"


def test_an_sla_miss_is_not_a_dag_callback_and_is_keyed_by_run(ledger):
    assert callback_ledger.record("pipeline_ventas", "manual__lenta", callback_ledger.SLA_MISSED)
    assert callback_ledger.record("otro_dag", "manual__otra", callback_ledger.SLA_MISSED)
    # still running: its DAG callback is still to come, so nothing counts it as ended
    assert callback_ledger.recorded("pipeline_ventas") == {}
    assert callback_ledger.sla_missed("pipeline_ventas", "manual__lenta")
    assert not callback_ledger.sla_missed("pipeline_ventas", "manual__otra")
    assert not callback_ledger.sla_missed("pipeline_ventas", "manual__1")
    assert callback_ledger.record("pipeline_ventas", "manual__lenta", "success")
    assert callback_ledger.recorded("pipeline_ventas")["manual__lenta"]["state"] == "success"
    assert callback_ledger.sla_missed("pipeline_ventas", "manual__lenta")  # the miss stays
