"""Re-run hygiene: what a restart forgets, per-run deltas, per-run alert episodes, the matrix.

A day must give the same result the first time, again on the same stack and after a restart.
These check the pieces without a stack: the files ``stack up`` deletes, the PromQL that ignores
an earlier stack's stale samples, the notification matching keyed by episode, and the table.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from opsbook.course import day2, day2_sla, rerun
from opsbook.observability import alert_receiver, alerts
from opsbook.stack import fresh_start

pytestmark = pytest.mark.unit


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def test_up_forgets_the_notification_log_and_silences(tmp_path, monkeypatch):
    from opsbook.settings import settings

    monkeypatch.setattr(type(settings), "alertmanager_data", property(lambda s: tmp_path))
    for name in ("nflog", "silences", "other"):
        (tmp_path / name).write_text("x")
    assert sorted(fresh_start.forget_alert_state(settings)) == ["nflog", "silences"]
    assert [p.name for p in tmp_path.iterdir()] == ["other"]
    assert fresh_start.forget_alert_state(settings) == []


def test_a_probes_pause_is_released_but_an_operators_stays(tmp_path, monkeypatch):
    flag = tmp_path / "automation_off"
    monkeypatch.setattr(alert_receiver, "automation_off_flag", lambda: flag)
    flag.write_text("automation off\n")
    assert not fresh_start.release_probe_pause() and flag.exists()
    flag.write_text(alerts.PROBE_PAUSE + "\n")
    assert fresh_start.release_probe_pause() and not flag.exists()


def test_the_probe_pause_mark_is_what_runbook_paused_writes(tmp_path, monkeypatch):
    flag = tmp_path / "automation_off"
    monkeypatch.setattr(alert_receiver, "automation_off_flag", lambda: flag)
    with alerts.runbook_paused():
        assert flag.read_text().strip() == alerts.PROBE_PAUSE



def test_a_stack_up_pause_is_released_too_and_never_overwrites_an_operators(tmp_path, monkeypatch):
    flag = tmp_path / "automation_off"
    monkeypatch.setattr(alert_receiver, "automation_off_flag", lambda: flag)
    with alerts.runbook_paused(alerts.RECONFIGURE_PAUSE):
        assert flag.read_text().strip() == alerts.RECONFIGURE_PAUSE
    assert not flag.exists()
    flag.write_text(alerts.RECONFIGURE_PAUSE + "\n")  # a `stack up` killed mid-switch
    assert fresh_start.release_probe_pause() and not flag.exists()
    flag.write_text("automation off\n")  # the operator's switch, set for a class
    with alerts.runbook_paused(alerts.RECONFIGURE_PAUSE):
        assert flag.read_text() == "automation off\n"
    assert flag.read_text() == "automation off\n" and not fresh_start.release_probe_pause()

def test_deltas_read_only_series_the_bridge_still_exposes():
    expr = day2.live_series('airflow_pipeline_load_records_loaded{dag_id="pipeline_ventas"}')
    assert expr.startswith('(airflow_pipeline_load_records_loaded{dag_id="pipeline_ventas"} and')
    assert 'time() - timestamp(airflow_pipeline_load_records_loaded{dag_id="pipeline_ventas"})' \
        in expr
    assert expr.endswith(f"< {day2.FRESH_S:g})")


def notification(status, starts_at, received_at):
    return {"received_at": received_at, "receiver_path": "/alerts/warning",
            "notification": {"alerts": [{"status": status, "startsAt": iso(starts_at),
                                         "labels": {"alertname": "PipelineSlaMissed",
                                                    "dag_id": "pipeline_ventas"}}]}}


def test_an_earlier_episode_is_never_taken_for_this_runs_alert():
    expired = 1_000_000.0
    earlier = notification("firing", expired - 20, expired - 19.8)  # the −19.8 s of the issue
    own = notification("firing", expired + 2, expired + 3.5)
    match = {"dag_id": "pipeline_ventas"}
    unkeyed = alerts.find_delivery([earlier, own], "PipelineSlaMissed", "firing", match)
    assert unkeyed["received_at"] - expired == pytest.approx(-19.8)
    hit = alerts.find_delivery([earlier, own], "PipelineSlaMissed", "firing", match,
                               episode_after=expired - 1)
    assert hit["received_at"] - expired == pytest.approx(3.5)
    assert alerts.find_delivery([earlier], "PipelineSlaMissed", "firing", match,
                                episode_after=expired - 1) is None


def test_matrix_table_shows_pass_and_seconds_per_day_and_scenario():
    cells = [rerun.Cell(2, "primera", True, 201.4), rerun.Cell(2, "segunda", False, 240.0, 13),
             rerun.Cell(2, "tras_reinicio", True, 198.0)]
    text = rerun.table(cells).splitlines()
    assert text[0] == "| día | primera | segunda | tras_reinicio |"
    assert text[2] == "| 2 | ✓ 201 s | ✗ In [13] 240 s | ✓ 198 s |"


def test_matrix_runs_each_day_twice_then_restarts(monkeypatch):
    calls = []
    monkeypatch.setattr(rerun, "_notebook", lambda day: f"dia_{day}")

    class Run:
        status, seconds, failed_cell, error = "passed", 1.0, None, None

    monkeypatch.setattr(rerun.runner, "run_one",
                        lambda nb, params, timeout, progress: calls.append((nb, params)) or Run)
    cells = rerun.run_matrix([2, 3], lambda: calls.append("restart"),
                             rerun.SMALL_PARAMETERS)
    two, three = ("dia_2", rerun.SMALL_PARAMETERS[2]), ("dia_3", rerun.SMALL_PARAMETERS[3])
    assert calls == [two, two, "restart", two, three, three, "restart", three]
    assert [c.scenario for c in cells] == list(rerun.SCENARIOS) * 2
    assert all(c.passed for c in cells)


def _finish(coro):
    """Drive a coroutine that awaits nothing (no event loop: pytest may have one running)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the coroutine awaited something")


def test_a_run_that_had_failed_is_not_an_sla_violation(monkeypatch):
    from opsbook.observability import pipeline_metrics

    sent = []
    monkeypatch.setattr(pipeline_metrics, "init_stats", lambda: None)
    monkeypatch.setattr(pipeline_metrics, "emit", lambda *a: sent.append(a))
    failed = {"dag_run": {"state": "failed"}, "deadline": {"id": "x"}}
    note = _finish(pipeline_metrics.record_sla_violation("d", context=failed))
    assert sent == [] and "PipelineDagFailed" in note
    for context in ({"dag_run": {"state": "running"}}, {"dag_run": {"state": "queued"}}, None):
        _finish(pipeline_metrics.record_sla_violation("d", context=context))
    assert sent == [("sla_violations", 1, "d")] * 3


def test_the_deadline_callback_records_the_miss_it_counts_and_only_that(tmp_path, monkeypatch):
    from opsbook.observability import callback_ledger, pipeline_metrics

    ledger = tmp_path / "dag_callbacks.jsonl"
    monkeypatch.setattr(callback_ledger, "ledger_path", lambda: ledger)
    sent = []
    monkeypatch.setattr(pipeline_metrics, "init_stats", lambda: None)
    monkeypatch.setattr(pipeline_metrics, "emit", lambda *a: sent.append(a))
    running = {"dag_run": {"dag_run_id": "manual__lenta", "state": "running"}, "deadline": {}}
    failed = {"dag_run": {"dag_run_id": "manual__fallida", "state": "failed"}, "deadline": {}}
    _finish(pipeline_metrics.record_sla_violation("pipeline_ventas", context=running))
    _finish(pipeline_metrics.record_sla_violation("pipeline_ventas", context=failed))
    assert sent == [("sla_violations", 1, "pipeline_ventas")]
    assert callback_ledger.sla_missed("pipeline_ventas", "manual__lenta")
    assert not callback_ledger.sla_missed("pipeline_ventas", "manual__fallida")


def test_quiet_wait_only_waits_for_runs_that_can_still_count_a_violation():
    t0 = 1_000_000.0
    sla, margin = 90.0, 15.0
    succeeded = {"state": "success", "queued_at": iso(t0), "end_date": iso(t0 + 40)}
    failed_fast = {"state": "failed", "queued_at": iso(t0 + 50), "end_date": iso(t0 + 80)}
    assert day2_sla.sla_counted_until([succeeded, failed_fast], sla, margin) == 0.0
    running = {"state": "running", "queued_at": iso(t0 + 100), "end_date": None}
    assert day2_sla.sla_counted_until([succeeded, running], sla, margin) == t0 + 100 + sla + margin
    late_failure = {"state": "failed", "queued_at": iso(t0), "end_date": iso(t0 + sla + 5)}
    assert day2_sla.sla_counted_until([late_failure, failed_fast], sla, margin) == t0 + sla + margin
    assert day2_sla.sla_counted_until([{"state": "queued", "queued_at": None}], sla, margin) == 0.0


def test_following_live_waits_for_the_resolved_stage_behind_its_notification(monkeypatch):
    """The resolved notification can arrive one evaluation before ``resolved`` is inferred."""
    import time

    now = time.time()
    last_firing = now - 0.1  # the last firing sample is fresher than one evaluation
    monkeypatch.setattr(alerts, "state", lambda name, match=None: ("inactive", None))
    monkeypatch.setattr(alerts, "history", lambda name, since, match=None: {
        "pending": [now - 5], "firing": [now - 3, last_firing]})
    entries = [notification("firing", now - 5, now - 2), notification("resolved", now - 5, now)]
    monkeypatch.setattr(alerts, "notifications", lambda since: entries)
    trace = alerts.follow("PipelineSlaMissed", now - 6, {"dag_id": "pipeline_ventas"},
                          until="resolved_received", timeout_s=10, interval_s=0.05)
    assert trace.resolved_received == now and trace.resolved is not None
    assert trace.firing <= trace.resolved
