"""What a stack restart keeps and what it forgets, so a re-run never sees the last run's state.

Why this module exists: every course day must give the same result the first time, the second
time on the same stack and right after ``opsbook stack down`` / ``up``. Three pieces of state
outlived a restart and changed the next run's outcome:

* **Prometheus' last samples.** Stopping Prometheus together with the StatsD bridge writes no
  staleness markers, so for five minutes after ``up`` every instant query (and every alert rule)
  still sees the previous stack's counters while the new bridge counts from 0 again. ``down``
  therefore stops the bridge first and waits for one failed scrape of it
  (:func:`mark_bridge_series_stale`): Prometheus then writes a staleness marker for each of its
  series. History stays; only "the current value" ends.
* **Alertmanager's notification log and silences** (``var/alertmanager/``). The log remembers
  that a group was notified ``firing``; an episode whose ``resolved`` was never sent (the stack
  stopped first) suppresses the next ``firing`` of the same group for ``repeat_interval`` (1 h).
  ``up`` deletes both files before Alertmanager starts (:func:`forget_alert_state`); firing
  alerts themselves live only in memory and Prometheus re-sends what is still true.
* **A runbook pause left by a probe** that died inside :class:`runbook_paused` (or by a
  ``stack up`` that was killed mid-switch): ``up`` removes the switch file when opsbook wrote it
  (an operator's ``opsbook runbook automation off`` stays).

What survives on purpose: Prometheus' TSDB history, the Airflow metadata DB (runs, the paused
flag of each DAG: every day unpauses what it triggers), the warehouse, incidents and
post-mortems under ``var/incidents`` and the receiver's notification history (readers filter
by time). See ``docs/manual_operativo.md`` (Reinicios y re-ejecuciones).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from opsbook.observability.alerts import OWN_PAUSES
from opsbook.settings import Settings, settings

ALERTMANAGER_STATE_FILES = ("nflog", "silences")
"""Files of ``--storage.path`` that carry notification dedup and silences across restarts."""


@dataclass
class StaleMark:
    """Outcome of :func:`mark_bridge_series_stale`.

    Attributes:
        marked: Prometheus recorded a failed scrape of the bridge (markers written).
        seconds: time spent stopping the bridge and waiting for that scrape.
        note: why nothing was marked (Prometheus or the bridge not running), else empty.
    """

    marked: bool
    seconds: float
    note: str = ""


def forget_alert_state(cfg: Settings = settings) -> list[str]:
    """Delete Alertmanager's notification log and silences (call only while it is stopped).

    Returns:
        Names of the files deleted.
    """
    gone = []
    for name in ALERTMANAGER_STATE_FILES:
        path = cfg.alertmanager_data / name
        if path.exists():
            path.unlink()
            gone.append(name)
    return gone


def release_probe_pause() -> bool:
    """Remove the runbook switch file when a probe (not an operator) left it behind.

    Returns:
        True when a probe's pause was removed.
    """
    from opsbook.observability.alert_receiver import automation_off_flag

    flag = automation_off_flag()
    if flag.exists() and flag.read_text().strip() in OWN_PAUSES:
        flag.unlink(missing_ok=True)
        return True
    return False


def _bridge_scrape_failed(cfg: Settings) -> bool:
    """True once the newest ``up`` sample of the bridge is 0 (a scrape failed)."""
    from opsbook import loopback
    from opsbook.observability.signals import BRIDGE_JOB

    resp = loopback.get(f"{cfg.prometheus_url}/api/v1/query",
                        params={"query": f'up{{job="{BRIDGE_JOB}"}}'}, timeout=3)
    return any(r["value"][1] == "0" for r in resp.json()["data"]["result"])


def mark_bridge_series_stale(stop_bridge, cfg: Settings = settings,
                             timeout_s: float | None = None) -> StaleMark:
    """Stop the StatsD bridge and wait until Prometheus has failed one scrape of it.

    A failed scrape makes Prometheus write a staleness marker for every series the bridge
    exposed, so after the next ``up`` no query sees the old stack's last values.

    Args:
        stop_bridge: callable stopping the bridge component (supervisord).
        cfg: the settings.
        timeout_s: bound of the wait (default: ten scrape intervals, at least 15 s; it
            normally ends after one scrape).

    Returns:
        A :class:`StaleMark`; never raises (``down`` must go on whatever happens here).
    """
    import httpx

    from opsbook import loopback
    from opsbook.waiting import WaitTimeout, wait_until

    t0 = time.monotonic()
    bound = timeout_s or max(15.0, 10 * cfg.scrape_interval_s)
    try:
        loopback.get(f"{cfg.prometheus_url}/-/ready", timeout=2).raise_for_status()
    except httpx.HTTPError:
        return StaleMark(False, 0.0, "Prometheus no responde: nada que marcar")
    try:
        stop_bridge()
    except Exception as exc:  # noqa: BLE001 - reported; down continues
        return StaleMark(False, round(time.monotonic() - t0, 2), f"puente: {exc}")
    try:
        wait_until(lambda: _bridge_scrape_failed(cfg), bound, interval=0.2,
                   what="un scrape fallido del puente StatsD",
                   retry_on=(httpx.HTTPError, KeyError, ValueError))
    except WaitTimeout as exc:
        return StaleMark(False, round(time.monotonic() - t0, 2), str(exc))
    return StaleMark(True, round(time.monotonic() - t0, 2))
