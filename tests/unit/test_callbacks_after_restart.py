"""Day 2's snapshot waits for the callbacks still owed, not for one lost with a stopped stack."""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime

import pytest
from opsbook.airflow import client as airflow_api
from opsbook.course import day2
from opsbook.observability import callback_ledger, prom

pytestmark = pytest.mark.unit


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


@pytest.fixture
def stack(monkeypatch):
    """Fake Airflow: run ``before`` ended before the dag-processor started, ``after`` since."""
    now = time.time()
    runs = [{"dag_run_id": "after", "state": "success", "end_date": _iso(now - 5)},
            {"dag_run_id": "before", "state": "success", "end_date": _iso(now - 100)}]
    ledger: dict[str, dict] = {}
    monkeypatch.setattr(airflow_api, "dag_runs", lambda dag_id, limit: runs)
    monkeypatch.setattr(callback_ledger, "recorded", lambda dag_id: dict(ledger))
    monkeypatch.setattr(prom, "wait_scraped", lambda after: None)
    return now, ledger


def test_a_callback_lost_with_the_old_dag_processor_is_not_waited_for(stack, monkeypatch):
    now, ledger = stack
    ledger["after"] = {"at": now - 4}
    monkeypatch.setattr(day2, "component_started_at", lambda name: now - day2.CALLBACK_GRACE_S - 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # waiting for "before" would end in a warning
        assert day2.wait_callbacks_counted(timeout_s=1) == []


def test_a_run_that_ended_before_a_fresh_restart_is_still_owed_its_callback(stack, monkeypatch):
    now, ledger = stack
    ledger["after"] = {"at": now - 4}
    monkeypatch.setattr(day2, "component_started_at", lambda name: now - 10)  # inside the grace
    with pytest.warns(UserWarning, match="before"):
        assert day2.wait_callbacks_counted(timeout_s=1) == ["before"]


def test_a_run_that_ended_under_this_dag_processor_is_always_owed(stack, monkeypatch):
    now, _ledger = stack
    monkeypatch.setattr(day2, "component_started_at", lambda name: now - 3600)
    with pytest.warns(UserWarning, match="after"):
        assert day2.wait_callbacks_counted(timeout_s=1) == ["after", "before"]
