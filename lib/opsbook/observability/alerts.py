"""Follow one alert through its life: pending → firing → received by the webhook → resolved.

Why this module exists: the day-2 notebook, the alert-flow test and the latency benchmark all
measure the same path (Prometheus rule → Alertmanager → ``opsbook.observability.alert_receiver``).
This
module reads the two real sources — Prometheus ``/api/v1/alerts`` (pending/firing) and the
receiver's ``GET /notifications`` (what Alertmanager delivered, with receive timestamps) — and
records when each stage happened, by polling with a deadline.

The instants of the Prometheus stages (pending, firing, resolved) are read from the
``ALERTS`` series Prometheus writes at every rule evaluation (raw samples of a range vector,
with their evaluation timestamps), not from the moment a poll happens to look. A caller that
starts following late (after a slow step, on a loaded machine) therefore gets the same trace
as one that watched from the start; the webhook stages carry the receiver's own timestamps.
"""

from __future__ import annotations

import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from opsbook import loopback
from opsbook.observability import catalog
from opsbook.settings import HOST, settings
from opsbook.waiting import wait_until

STAGES = ("pending", "firing", "received", "resolved", "resolved_received")


def send_statsd(metric: str, value: float, dag_id: str) -> str:
    """Send one catalog metric as a raw StatsD packet, exactly as the DAG's stats client does.

    Used by probes (tests, benchmarks) that must exercise StatsD → bridge → Prometheus →
    Alertmanager without running a DAG. Timers take ``value`` in seconds (sent in ms).

    Args:
        metric: catalog name (``dag_failure`` or ``airflow_pipeline_dag_failure``).
        value: increment, gauge value or duration in seconds.
        dag_id: the ``dag_id`` label (probes use their own, e.g. ``sonda_alertas``).

    Returns:
        The line sent (``airflow.pipeline.dag.failure.sonda:1|c``).
    """
    m = catalog.get(metric)
    amount = value * 1000 if m.kind == "timer" else value
    line = f"{catalog.STATSD_PREFIX}.{m.statsd_name(dag_id)}:{amount:.12g}|{m.statsd_type}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(line.encode(), (HOST, settings.ports.statsd))
    return line


def routing_waits() -> dict[str, float]:
    """Waits of the committed Alertmanager route, in seconds.

    ``group_wait`` is part of the physical floor of every first notification.
    """
    import yaml

    from opsbook.observability.signals import _seconds

    route = yaml.safe_load((settings.monitoring_dir / "alertmanager" / "alertmanager.yml")
                           .read_text())["route"]
    return {f"{k}_s": _seconds(route[k]) for k in ("group_wait", "group_interval",
                                                   "repeat_interval")}


def automation_paused() -> bool:
    """True while the runbook automation switch file exists (see ``alert_receiver``)."""
    from opsbook.observability.alert_receiver import automation_off_flag

    return automation_off_flag().exists()


PROBE_PAUSE = "automation off (probe)"
"""Switch-file content of a probe's pause: the runbook must not act on its synthetic alerts."""
RECONFIGURE_PAUSE = "automation off (stack up)"
"""Switch-file content while ``stack up`` stops and starts Airflow on purpose (a mode switch):
the runbook must not "repair" a scheduler that is down because it is being replaced."""
OWN_PAUSES = (PROBE_PAUSE, RECONFIGURE_PAUSE)
"""Pauses written by opsbook itself (an operator's ``automation off`` is none of these)."""


class runbook_paused:  # noqa: N801 - used as a context manager, reads like a statement
    """Context manager: no automatic remediation inside the block; previous state restored.

    Probes send synthetic alerts (a DAG that does not exist): the runbook must not act on them.
    A mode switch stops the scheduler on purpose: the runbook must not start it again midway.

    Args:
        mark: what the switch file says (one of :data:`OWN_PAUSES`).
    """

    def __init__(self, mark: str = PROBE_PAUSE) -> None:
        self._mark = mark

    def __enter__(self) -> runbook_paused:
        from opsbook.observability.alert_receiver import automation_off_flag

        self._flag = automation_off_flag()
        self._was_paused = self._flag.exists()
        self._flag.parent.mkdir(parents=True, exist_ok=True)
        if not self._was_paused:  # an operator's or a drill's pause is left as it is
            self._flag.write_text(self._mark + "\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._was_paused:
            self._flag.unlink(missing_ok=True)


def prometheus_alerts(url: str | None = None) -> list[dict[str, Any]]:
    """Active alerts of Prometheus (``/api/v1/alerts``: labels, state, activeAt)."""
    resp = loopback.get(f"{url or settings.prometheus_url}/api/v1/alerts", timeout=5)
    resp.raise_for_status()
    return resp.json()["data"]["alerts"]


def alertmanager_alerts(url: str | None = None) -> list[dict[str, Any]]:
    """Alerts Alertmanager holds now: active, neither silenced nor inhibited (its API v2).

    Args:
        url: Alertmanager base URL (default: the stack's).
    """
    resp = loopback.get(f"{url or settings.alertmanager_url}/api/v2/alerts",
                        params={"active": "true", "silenced": "false", "inhibited": "false"},
                        timeout=5)
    resp.raise_for_status()
    return resp.json()


def _matches(labels: dict[str, str], alertname: str, match: dict[str, str] | None) -> bool:
    if labels.get("alertname") != alertname:
        return False
    return all(labels.get(k) == v for k, v in (match or {}).items())


def state(alertname: str, match: dict[str, str] | None = None,
          url: str | None = None) -> tuple[str, dict[str, Any] | None]:
    """Current Prometheus state of an alert: ``inactive``, ``pending`` or ``firing``.

    Args:
        alertname: alert name.
        match: extra labels that must match (e.g. ``{"dag_id": "pipeline_ventas"}``).
        url: Prometheus base URL (default: the stack's).

    Returns:
        ``(state, alert)``; ``alert`` is the Prometheus record or None when inactive.
    """
    found = [a for a in prometheus_alerts(url) if _matches(a["labels"], alertname, match)]
    if not found:
        return "inactive", None
    best = max(found, key=lambda a: a["state"] == "firing")
    return best["state"], best


def notifications(since: float | None = None, url: str | None = None) -> list[dict[str, Any]]:
    """Notifications recorded by the webhook receiver (``GET /notifications``).

    Args:
        since: only those received at or after this Unix time.
        url: receiver base URL (default: the stack's).
    """
    params = {"since": repr(since)} if since is not None else None
    resp = loopback.get(f"{url or settings.webhook_url}/notifications", params=params, timeout=5)
    resp.raise_for_status()
    return resp.json()


def find_delivery(entries: list[dict[str, Any]], alertname: str, status: str,
                  match: dict[str, str] | None = None,
                  episode_after: float | None = None) -> dict[str, Any] | None:
    """First recorded notification carrying ``alertname`` with ``status`` (firing/resolved).

    Args:
        entries: the receiver's records (:func:`notifications`).
        alertname: alert name.
        status: ``firing`` or ``resolved``.
        match: extra labels that must match.
        episode_after: only alerts whose ``startsAt`` is at or after this Unix time (the
            episode a run caused, never an earlier one of the same group).

    Returns:
        ``{"received_at", "receiver_path", "alert"}`` or None.
    """
    for entry in entries:
        for alert in entry["notification"].get("alerts", []):
            if episode_after is not None and (
                    not alert.get("startsAt") or _parse_ts(alert["startsAt"]) < episode_after):
                continue
            if alert.get("status") == status and _matches(alert.get("labels", {}), alertname,
                                                          match):
                return {"received_at": entry["received_at"],
                        "receiver_path": entry["receiver_path"], "alert": alert}
    return None


@dataclass
class AlertTrace:
    """When each stage of one alert was first observed (Unix seconds; None = not seen).

    Attributes:
        alertname: the alert followed.
        origin: reference instant (e.g. when the failure metric was emitted or the run ended).
        pending: first rule evaluation that wrote it pending (``ALERTS``).
        active_at: Prometheus's own ``activeAt`` (condition first true).
        firing: first rule evaluation that wrote it firing (``ALERTS``).
        received: webhook receive time of the first ``firing`` notification.
        resolved: first rule evaluation that no longer found it firing (the last firing
            sample plus one evaluation interval).
        resolved_received: webhook receive time of the ``resolved`` notification.
        receiver_path: webhook path used (``/alerts/warning`` or ``/alerts/critical``).
        labels: labels of the alert.
        starts_at: ``startsAt`` of the notified episode (Unix seconds).
    """

    alertname: str
    origin: float
    pending: float | None = None
    active_at: float | None = None
    firing: float | None = None
    received: float | None = None
    resolved: float | None = None
    resolved_received: float | None = None
    receiver_path: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    starts_at: float | None = None

    def latencies(self) -> dict[str, float | None]:
        """Seconds from :attr:`origin` to each stage (None when not observed)."""
        return {s: (None if getattr(self, s) is None else round(getattr(self, s) - self.origin, 3))
                for s in ("active_at", "firing", "received", "resolved", "resolved_received")}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record (timestamps plus latencies)."""
        return {**asdict(self), "latencies_s": self.latencies()}


def _parse_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def history(alertname: str, since: float, match: dict[str, str] | None = None,
            url: str | None = None) -> dict[str, list[float]]:
    """Evaluation timestamps at which Prometheus wrote the alert pending / firing.

    Reads the raw samples of ``ALERTS{alertname=...}`` (one per rule evaluation while the
    alert is active) from ``since`` to now.

    Args:
        alertname: alert name.
        since: Unix time of the oldest sample wanted.
        match: extra labels that must match.
        url: Prometheus base URL (default: the stack's).

    Returns:
        ``{"pending": [...], "firing": [...]}``, each sorted ascending.
    """
    from opsbook.observability import prom, signals

    window = max(int(time.time() - since) + 2, 2)
    samples: dict[str, list[float]] = {"pending": [], "firing": []}
    for series in prom.raw_query(signals.alert_samples(alertname, window, match), url):
        kind = series["metric"].get("alertstate")
        if kind in samples:
            samples[kind] += [float(ts) for ts, _ in series.get("values", []) if float(ts) >= since]
    return {k: sorted(v) for k, v in samples.items()}


def _apply_history(trace: AlertTrace, seen: dict[str, list[float]], current: str,
                   eval_s: float) -> None:
    """Set pending / firing / resolved of ``trace`` from the ``ALERTS`` samples."""
    if seen["pending"]:
        trace.pending = seen["pending"][0]
        trace.active_at = trace.active_at or trace.pending  # written at the same evaluation
    if seen["firing"]:
        trace.firing = seen["firing"][0]
        trace.pending = trace.pending or trace.active_at or trace.firing
        if current != "firing" and seen["firing"][-1] < time.time() - eval_s:
            trace.resolved = seen["firing"][-1] + eval_s


def follow(alertname: str, origin: float, match: dict[str, str] | None = None,
           until: str = "resolved_received", timeout_s: float = 180.0,
           interval_s: float = 0.2, episode_after: float | None = None) -> AlertTrace:
    """Poll Prometheus and the webhook until the alert reaches ``until`` (or the deadline).

    Stage instants come from the sources' own timestamps (``ALERTS`` samples, webhook
    receive times), so following late gives the same trace as following from ``origin``.

    Args:
        alertname: alert to follow.
        origin: reference instant for the latencies (Unix seconds); samples and
            notifications older than ``origin - 1`` belong to an earlier episode.
        match: extra labels identifying the alert (e.g. ``dag_id``).
        until: last stage to wait for: ``firing``, ``received``, ``resolved`` or
            ``resolved_received``.
        timeout_s: deadline in seconds.
        interval_s: polling period.
        episode_after: only notifications of an alert that started at or after this Unix
            time count (see :func:`find_delivery`): keys the trace to the run that caused it.

    Returns:
        The trace.

    Raises:
        WaitTimeout: a ``TimeoutError`` naming the stages reached, when ``until`` is not
            reached in time.
        ValueError: for an unknown ``until``.
    """
    if until not in STAGES[1:]:
        raise ValueError(f"until={until!r} inválido: usa uno de {STAGES[1:]}")
    trace = AlertTrace(alertname, origin)

    def stages_seen() -> list[str]:
        current, alert = state(alertname, match)
        if alert is not None:
            trace.labels = {k: v for k, v in alert["labels"].items() if k != "alertname"}
            trace.active_at = trace.active_at or _parse_ts(alert["activeAt"])
        _apply_history(trace, history(alertname, origin - 1, match), current,
                       settings.scrape_interval_s)
        entries = notifications(since=origin - 1)
        if trace.received is None and (hit := find_delivery(entries, alertname, "firing", match,
                                                            episode_after)):
            trace.received, trace.receiver_path = hit["received_at"], hit["receiver_path"]
            trace.starts_at = _parse_ts(hit["alert"]["startsAt"])
            trace.labels = trace.labels or {k: v for k, v in hit["alert"]["labels"].items()
                                            if k != "alertname"}
        if trace.resolved_received is None and trace.received is not None and (
                hit := find_delivery(entries, alertname, "resolved", match, episode_after)):
            trace.resolved_received = hit["received_at"]
        return [s for s in STAGES if getattr(trace, s) is not None]

    # the resolved notification can arrive before ``resolved`` is inferred from the samples
    # (one evaluation later): following live, wait for both so the trace is complete
    wanted = {until, "resolved"} if until == "resolved_received" else {until}
    wait_until(stages_seen, timeout_s, interval_s,
               f"la alerta {alertname} llegue a '{until}' (último estado = etapas vistas)",
               until=lambda seen: wanted <= set(seen))
    return trace
