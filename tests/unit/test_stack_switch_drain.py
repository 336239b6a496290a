"""A switch of executor lets the DAG runs in flight end first (bounded), and only a switch does.

Local mode keeps Airflow's metadata in SQLite and Celery mode in PostgreSQL: a run left in
flight by a switch ends only when the stack comes back to that mode (day 4 measured 237.7 s and
a missed deadline). The API is replaced by a fake list of runs that empties over time.
"""

from __future__ import annotations

import dataclasses

import pytest

pytestmark = pytest.mark.unit


@pytest.fixture
def fake_api(monkeypatch, tmp_path):
    from opsbook.airflow import client as airflow_api
    from opsbook.settings import settings
    from opsbook.stack import lifecycle

    calls: list[str] = []
    answers: list[list[str]] = []

    def dag_runs(dag_id, limit=50, url=None, states=None):
        assert dag_id == "~" and states == airflow_api.ACTIVE_STATES  # every DAG, in flight only
        calls.append(url)
        runs = answers.pop(0) if len(answers) > 1 else answers[0]
        return [dict(zip(("dag_id", "dag_run_id"), run.split("/"), strict=True)) for run in runs]

    monkeypatch.setattr(airflow_api, "dag_runs", dag_runs)
    monkeypatch.setattr(lifecycle, "is_healthy", lambda cfg: True)
    cfg = dataclasses.replace(settings, var=tmp_path / "var")
    return lifecycle, cfg, calls, answers


def test_a_switch_waits_until_the_runs_in_flight_end(fake_api):
    lifecycle, cfg, calls, answers = fake_api
    answers[:] = [["pipeline_ventas/a", "fanout_io/b"], ["pipeline_ventas/a"], []]
    left = lifecycle.drain_before_switch({"executor": "local"}, "celery", cfg, timeout_s=30)
    assert left == []
    assert len(calls) == 3 and set(calls) == {cfg.airflow_url}


def test_a_hung_run_does_not_block_the_switch_and_is_named(fake_api):
    lifecycle, cfg, calls, answers = fake_api
    answers[:] = [["fanout_io/colgada"]]
    with pytest.warns(UserWarning, match="fanout_io/colgada"):
        left = lifecycle.drain_before_switch({"executor": "celery"}, "local", cfg, timeout_s=1.5)
    assert left == ["fanout_io/colgada"] and len(calls) >= 2


@pytest.mark.parametrize("current", [{"executor": "celery", "workers": 2}, {}])
def test_same_executor_or_no_stack_asks_nothing(fake_api, current):
    lifecycle, cfg, calls, answers = fake_api
    answers[:] = [["pipeline_ventas/a"]]
    assert lifecycle.drain_before_switch(current, "celery", cfg, timeout_s=30) == []
    assert calls == []


def test_a_stopped_stack_asks_nothing(fake_api, monkeypatch):
    lifecycle, cfg, calls, answers = fake_api
    answers[:] = [["pipeline_ventas/a"]]
    monkeypatch.setattr(lifecycle, "is_healthy", lambda cfg: False)
    assert lifecycle.drain_before_switch({"executor": "local"}, "celery", cfg, timeout_s=30) == []
    assert calls == []
