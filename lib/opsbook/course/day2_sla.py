"""Day 2's SLA episode: which earlier runs can still count a violation, and the late run's alert.

Why this module exists: the latency of ``PipelineSlaMissed`` must be keyed to the run that
caused it (never an earlier run's episode, never negative). That needs a bounded wait until no
earlier run can still extend an episode, and matching the notification to the late run's own
deadline; both are logic the day-2 notebook and its hidden checks call, apart from the scenario
runs of :mod:`opsbook.course.day2`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsbook.course.day2 import DAG_ID, PipelineRun
from opsbook.settings import settings


@dataclass
class SlaAlert:
    """The ``PipelineSlaMissed`` notification caused by one run's missed deadline.

    Attributes:
        run_id: the late run.
        expired_at: unix time its deadline expired (``queued_at`` + SLA).
        received_at: webhook receive time of the firing notification of that episode.
        starts_at: ``startsAt`` of the notified alert (never before ``expired_at``).
        latency_s: ``received_at - expired_at`` (≥ 0 by construction).
        receiver_path: webhook path that received it.
    """

    run_id: str
    expired_at: float
    received_at: float
    starts_at: float
    latency_s: float
    receiver_path: str


def sla_counted_until(runs: list[dict[str, Any]], sla_s: float, margin_s: float) -> float:
    """Latest time an earlier run's SLA violation may still be counted (0 when none can).

    A run counts a violation only when it is still queued or running at its deadline
    (``queued_at`` + SLA): a success prunes its deadline and a run that had already failed is
    not counted (``pipeline_metrics.counts_as_sla_violation``). So only runs still active, or
    that ended after their deadline, matter; ``margin_s`` covers the triggerer, a scrape and a
    rule evaluation after the deadline.

    Args:
        runs: DAG runs as the REST API gives them (``state``, ``queued_at``, ``end_date``).
        sla_s: the SLA in seconds.
        margin_s: seconds after a deadline before its violation is surely counted.
    """
    from opsbook.airflow.client import ACTIVE_STATES

    due = 0.0
    for run in runs:
        if not run.get("queued_at"):
            continue
        deadline = datetime.fromisoformat(str(run["queued_at"])).timestamp() + sla_s
        ended = run.get("end_date")
        ended_at = datetime.fromisoformat(str(ended)).timestamp() if ended else None
        if run.get("state") in ACTIVE_STATES or (ended_at is not None and ended_at >= deadline):
            due = max(due, deadline + margin_s)
    return due


def wait_sla_quiet(timeout_s: float, margin_s: float = 15.0) -> str:
    """Wait (bounded) until no earlier run can still extend a ``PipelineSlaMissed`` episode.

    Called before the deadline run is triggered. First until every earlier run that can still
    count a violation has passed its deadline (:func:`sla_counted_until`: after the day's
    injected failure, none — a failed run is paged by ``PipelineDagFailed``, not counted as an
    SLA miss). Then until the alert is inactive in Prometheus. An episode still firing would
    absorb this run's violation, and Alertmanager sends nothing new for an alert that never
    stopped firing.

    Args:
        timeout_s: bound of the wait for the alert, after the last deadline passed.
        margin_s: seconds after an earlier run's deadline before its violation is counted.

    Returns:
        The state seen last (``inactive``).
    """
    from opsbook.airflow import client as airflow_api
    from opsbook.observability import alerts
    from opsbook.waiting import wait_until

    due = sla_counted_until(airflow_api.dag_runs(DAG_ID, limit=20), settings.sla_seconds,
                            margin_s)
    return wait_until(lambda: time.time() >= due and alerts.state(
        "PipelineSlaMissed", {"dag_id": DAG_ID})[0] == "inactive" and "inactive",
                      max(due - time.time(), 0.0) + timeout_s, interval=1.0,
                      what="que venzan los deadlines anteriores y PipelineSlaMissed "
                           "deje de estar activa")


def sla_alert(late: PipelineRun, timeout_s: float) -> SlaAlert:
    """The SLA alert of the run ``late`` (a :func:`finish` result), keyed by that run.

    The episode is the firing notification whose alert started after this run's deadline
    expired (``startsAt`` ≥ expiry − 1 s): a notification of an earlier episode, from an
    earlier run or an earlier student, can never be taken for it, so the latency is never
    negative. Waits for it (bounded) when it has not arrived yet.

    Raises:
        TimeoutError: no notification of this run's episode in ``timeout_s``.
    """
    from opsbook.observability import alerts

    expired = late.queued_at + settings.sla_seconds
    trace = alerts.follow("PipelineSlaMissed", expired, match={"dag_id": DAG_ID},
                          until="received", timeout_s=timeout_s, episode_after=expired - 1)
    return SlaAlert(run_id=late.run_id, expired_at=expired, received_at=trace.received,
                    starts_at=trace.starts_at, latency_s=round(trace.received - expired, 1),
                    receiver_path=trace.receiver_path)
