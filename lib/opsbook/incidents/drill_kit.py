"""The shared machinery of the incident drills: the record, waits, preconditions, clean-up.

Why this module exists: every drill scenario (:mod:`opsbook.incidents.drill_scenarios`) needs the
same pieces — a :class:`Drill` record with timestamped events, the bounded waits for the
stack's incident, the precheck that refuses to drill on an unhealthy stack, ``kill -9`` of the
scheduler with its orphans reaped, and putting the stack back. They live here, below both the
scenarios and the public entry points of :mod:`opsbook.incidents.drills`, so neither needs the
other in a cycle. A ``kill -9`` leaves the victim's children running as orphans that
supervisord never stops, so :func:`kill_scheduler` reaps them by pid right after the kill (see
:mod:`opsbook.stack.reaper`).
"""


from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsbook.airflow import client as airflow_api
from opsbook.incidents import postmortem, runbook
from opsbook.incidents.catalog import catalog
from opsbook.incidents.diagnostics import state_of
from opsbook.incidents.timeline import Incident, IncidentStore, iso
from opsbook.records import to_json
from opsbook.waiting import WaitTimeout, wait_until

DAG_ID = "pipeline_ventas"


class DrillRefused(RuntimeError):
    """The drill did not start (unhealthy stack, automation off); nothing was touched."""


@dataclass
class DrillResult:
    """What a drill leaves: its events, the runs it watched, row counts, incident and impact.

    The JSON evidence (``timeline_<name>.json``) has these field names as keys; fields a
    scenario did not fill are ``None`` and stay out of the file (:func:`opsbook.records.to_json`
    with ``omit_none``).
    """

    name: str
    ok: bool
    still_broken: list[str]
    events: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    ds: str | None = None
    rows_expected: int | None = None
    rows_before: int | None = None
    rows_loaded: int | None = None
    fault_at: float | None = None
    healthy_at: float | None = None
    root_cause: str | None = None
    reaped: dict[str, Any] | None = None
    first_load: dict[str, int] | None = None
    incident: dict[str, Any] | None = None
    impact: dict[str, Any] | None = None
    postmortem: str | None = None
    mttr_s: float | None = None

    def record(self) -> dict[str, Any]:
        """The drill record as :mod:`opsbook.incidents.postmortem` reads it (JSON-ready)."""
        return to_json(self, omit_none=True)


class Drill:
    """Record of one drill run: its events, runs, counts and the incident it produced."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        self.record: dict[str, Any] = {"name": name, "events": self.events, "runs": []}
        self.incident: Incident | None = None
        self.store = IncidentStore(runbook.incidents_dir())

    def event(self, step: str, ok: bool | None = True, detail: Any = None,
              at: float | None = None) -> float:
        """Append a timestamped drill event (phase ``drill``) and return its time.

        Args:
            step: what happened (Spanish).
            ok: whether it went as expected (``None``: neutral).
            detail: JSON-ready detail.
            at: epoch time of the event when it happened earlier than now.
        """
        now = time.time() if at is None else at
        self.events.append({"t": now, "ts": iso(now), "phase": "drill", "step": step, "ok": ok,
                            "duration_s": None, "detail": detail})
        return now

    def wait_incident(self, kind: str, after: float, timeout_s: float) -> Incident:
        """Poll the stack's incident store for a new incident of ``kind``."""
        found = wait_until(
            lambda: [i for i in self.store.all() if i.type == kind and i.detected_at >= after],
            timeout_s, 0.5, f"llegue un incidente {kind} (¿dispara la alerta? opsbook stack "
            "status; var/alerts/notifications.jsonl)")
        self.incident = found[0]
        return found[0]

    def wait_until(self, predicate: Callable[[Incident], bool], timeout_s: float,
                   what: str) -> Incident:
        """Reload the drill's incident until ``predicate`` holds (bounded)."""

        def reloaded() -> Incident:
            self.incident = self.store.load(self.incident.id)
            return self.incident

        try:
            return wait_until(reloaded, timeout_s, 0.5, f"el incidente {self.incident.id} "
                              f"llegue a '{what}'", until=predicate)
        except WaitTimeout as exc:  # report the status, not the whole incident
            raise WaitTimeout(exc.what, self.incident.status, timeout_s) from None

    def add_run(self, run_id: str, rows: int | None) -> dict[str, Any]:
        """Record a DAG run (queued / end times from the REST API) for the impact figures."""
        run = next(r for r in airflow_api.dag_runs(DAG_ID, limit=20) if r["dag_run_id"] == run_id)
        info = {"run_id": run_id, "state": state_of(run.get("state")), "rows": rows,
                "queued_at": _epoch(run.get("queued_at")), "end_at": _epoch(run.get("end_date"))}
        self.record["runs"].append(info)
        return info

    def result(self, ok: bool, still_broken: list[str]) -> DrillResult:
        """Final result: record + incident + impact + post-mortem text."""
        inc = self.incident
        out = DrillResult(**self.record, ok=ok and not still_broken, still_broken=still_broken)
        if inc is not None:
            out.incident = inc.to_dict()
            out.impact = postmortem.impact(inc, self.record)
            out.postmortem = postmortem.render(inc, self.record)
            out.mttr_s = out.impact["mttr_s"]
        return out


# ---- preconditions and clean-up ---------------------------------------------------------
EPISODE_WAIT_S = 300.0
"""Bound of the wait for the previous episode of a drill's kind to end (its trigger alert
resolved and the incident it opened closed). An incident a critical sibling opened is not
waited for: it may stay unresolved while that alert looks back (10 minutes for
``PipelineLoadFailingRepeatedly``), and the drill's trigger opens a new incident anyway
(:meth:`opsbook.incidents.runbook.Runbook.detect`)."""


def precheck(kind: str | None = None) -> None:
    """Refuse to drill on an unhealthy stack or with automation off.

    Also waits (bounded) until the DAG is idle and, when ``kind`` is given, until the alert
    of the previous incident of that kind resolved and Alertmanager holds no active trigger
    alert of that kind (:func:`firing_alerts`): Alertmanager sends nothing new for an alert
    that never stopped firing, so a fault injected before that would go unanswered. The drill
    then runs as a new, separate episode. Unfinished incidents saved before the alert
    receiver last started are orphans of a stopped stack and do not block.

    Raises:
        DrillRefused: with the Spanish reason and the command that fixes it.
    """
    from opsbook.stack import lifecycle as stack

    if not runbook.automation_enabled():
        raise DrillRefused("la automatización está apagada: 'opsbook runbook automation on'")
    if not stack.is_healthy():
        broken = [n for n, c in stack.status()["components"].items() if not c["healthy"]]
        raise DrillRefused(f"la pila no está sana ({', '.join(broken) or 'sin arrancar'}): "
                           "arréglala antes del simulacro (opsbook stack up / status)")
    store = IncidentStore(runbook.incidents_dir())
    receiver_up = time.time() - (stack.status()["components"].get("alert-receiver", {})
                                 .get("uptime_s") or 0)

    def live(incident: Incident) -> bool:
        """Saved in the last 15 min by the running receiver (an orphan of a dead one is not)."""
        mtime = store.path(incident.id).stat().st_mtime
        return time.time() - mtime < 900 and mtime >= receiver_up - 1

    try:
        wait_until(lambda: not [i.id for i in store.all() if not i.finished and live(i)],
                   300, interval=1.0, what="que termine el incidente en curso")
    except WaitTimeout as exc:
        raise DrillRefused("hay un incidente en curso: espera a que el runbook termine") from exc

    def still_open() -> list[str]:
        """What keeps the previous episode of ``kind`` open (empty = it ended)."""
        if not kind:
            return []
        now, trigger = time.time(), catalog().types[kind].alert
        return [f"incidente {i.id} ({trigger}, sin resolver desde hace "
                f"{now - (i.detected_at or now):.0f} s)" for i in store.all()
                if i.type == kind and i.labels.get("alertname") == trigger
                and i.resolved_at is None and i.finished and live(i)
                ] + [f"alerta {name} activa en Alertmanager" for name in firing_alerts(kind)]

    try:
        wait_until(lambda: not still_open(), EPISODE_WAIT_S, interval=1.0,
                   what=f"que se resuelva la alerta del último incidente {kind}")
    except WaitTimeout as exc:
        raise DrillRefused(f"el último episodio de {kind} sigue abierto "
                           f"({'; '.join(still_open()) or 'acaba de cerrarse'}): espera a que "
                           "se resuelva antes de repetir el simulacro") from exc
    try:  # includes the scheduled run the scheduler creates when the DAG is unpaused
        airflow_api.settle(DAG_ID, timeout_s=600)
    except TimeoutError as exc:
        raise DrillRefused(f"{DAG_ID} tiene ejecuciones en curso ({active_runs()}): "
                           "espera a que terminen") from exc


def firing_alerts(kind: str, url: str | None = None) -> list[str]:
    """The trigger alert of ``kind`` (the catalog's ``alert``) when Alertmanager holds it active.

    An alert firing without an incident (it fired while automation was off, or right after
    ``stack up`` while the new scheduler had not yet sent its first heartbeat) would swallow
    the drill's fault just the same: Alertmanager notifies nothing new for it. Only the
    trigger alert counts: a sibling that outlives the episode (``PipelineLoadFailingRepeatedly``
    looks back 10 minutes) does not stop the drill's fault from opening a new, separate
    incident through the trigger alert's new notification.

    Args:
        kind: incident type of the catalog (``pipeline_down`` ...).
        url: Alertmanager base URL (default: this stack's).
    """
    from opsbook.observability.alerts import alertmanager_alerts

    alerts = alertmanager_alerts(url)
    cat = catalog()
    trigger = cat.types[kind].alert
    return sorted({a["labels"].get("alertname", "?") for a in alerts
                   if (m := cat.match(a.get("labels", {}))) is not None and m.key == kind
                   and a["labels"].get("alertname") == trigger})


def active_runs() -> list[str]:
    """Runs of the pipeline still queued or running (a drill needs the DAG idle)."""
    return [r["dag_run_id"]
            for r in airflow_api.dag_runs(DAG_ID, limit=100, states=airflow_api.ACTIVE_STATES)]


def restore_stack(timeout_s: float = 150.0) -> list[str]:
    """Start every unhealthy component again; return what is STILL broken (empty = healthy)."""
    from opsbook.stack import lifecycle as stack

    deadline = time.monotonic() + timeout_s

    def healthy_again() -> bool:
        comps = stack.status()["components"]
        broken = [n for n, c in comps.items() if not c["healthy"]]
        for name in broken:
            if comps[name]["state"] not in ("RUNNING", "STARTING"):
                try:
                    stack.start_component(name, timeout_s=max(5.0, deadline - time.monotonic()))
                except Exception:  # noqa: BLE001, S112 - reported below if it stays broken
                    continue
        return not broken

    try:
        wait_until(healthy_again, timeout_s, 1.0, "la pila vuelva a estar sana")
        return []
    except WaitTimeout:
        pass
    comps = stack.status()["components"]
    return [f"{n}: {c['state']}" for n, c in comps.items() if not c["healthy"]]


def today() -> str:
    """Logical date of a manual run triggered now (the DAG uses run_after's UTC date)."""
    return datetime.now(UTC).date().isoformat()


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return value.timestamp()
    from opsbook.incidents.timeline import parse_ts

    return parse_ts(str(value))


def kill_scheduler() -> dict[str, Any]:
    """``kill -9`` the real scheduler process, then reap the children it leaves behind.

    The LocalExecutor's worker processes (and any task supervisor under them) survive a
    ``kill -9`` of the scheduler, re-parented to init, where nothing would ever stop them;
    they are recorded before the kill and reaped by pid after it (see :mod:`opsbook.stack.reaper`).
    A task runner forked while they were being reaped (in a process group of its own) is
    caught by a sweep of the stack's strays right after, so the kill leaves no orphan whoever
    repairs the outage (the runbook's restart sweeps too; a person's repair need not).

    Returns:
        :func:`opsbook.stack.control.kill_and_sweep`'s report: ``pid``, ``killed_at``,
        ``orphans``, ``terminated``, ``killed``, ``survivors``, ``late_orphans``.
    """
    from opsbook.stack import lifecycle as stack

    pid = stack.component_pid("scheduler")
    if not pid:
        raise DrillRefused("no hay proceso scheduler que matar")
    return stack.kill_and_sweep(pid)
