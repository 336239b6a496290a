"""The automated runbook: detect → diagnose → recover → verify → escalate.

Why this module exists: the syllabus's ``runbook.py`` answered an incident by hand. Here the
alert receiver of the stack (``python -m opsbook.incidents.responder``) hands every
Alertmanager
notification to :func:`on_notification`; the engine turns firing alerts into incidents
(deduplicated by fingerprint), runs the catalog's diagnosis checks and recovery actions (real
functions injected as plain callables, so tests drive them with real local processes), verifies
the recovery, escalates by severity when it fails, and records every step with timestamps.

Guarantees: each step is time-bounded (a hung check is recorded as a timeout and the engine
moves on), each action runs at most once per incident, a repeated notification for an open
incident is only noted, and the whole response has a deadline — it never loops forever.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from opsbook.incidents import diagnostics, recovery
from opsbook.incidents.catalog import Catalog, catalog
from opsbook.incidents.outcome import Outcome, Step
from opsbook.incidents.timeline import Incident, IncidentStore, parse_ts
from opsbook.observability import alert_receiver
from opsbook.settings import settings


def _bounded(fn: Step, ctx: dict[str, Any], timeout_s: float) -> tuple[Outcome, float]:
    """Run ``fn(ctx)`` in a daemon thread; give up (ok=False) after ``timeout_s``."""
    box: dict[str, Outcome] = {}

    def target() -> None:
        try:
            result = fn(ctx)
            box["out"] = result if isinstance(result, Outcome) else Outcome(bool(result), result)
        except Exception as exc:  # noqa: BLE001 - a failing step is data for the timeline
            box["out"] = Outcome(False, f"{type(exc).__name__}: {exc}")

    start = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout_s)
    elapsed = time.monotonic() - start
    if worker.is_alive():
        return Outcome(False, f"timeout: sin respuesta en {timeout_s:.0f} s"), elapsed
    return box["out"], elapsed


class Runbook:
    """Incident response engine.

    Args:
        checks: check name → callable (diagnosis and verification).
        actions: action name → callable (recovery).
        store: where incidents and pages are persisted.
        cat: incident catalog (default: the packaged one).
        step_timeout_s: bound of each single check/action.
        deadline_s: bound of a whole response; remaining actions are skipped after it.
        context: extra context merged into every step's ``ctx`` (URLs, dag id ...).
    """

    def __init__(self, checks: dict[str, Step], actions: dict[str, Step], store: IncidentStore,
                 cat: Catalog | None = None, step_timeout_s: float = 90.0,
                 deadline_s: float = 300.0, context: dict[str, Any] | None = None) -> None:
        self.checks = checks
        self.actions = actions
        self.store = store
        self.catalog = cat or catalog()
        self.step_timeout_s = step_timeout_s
        self.deadline_s = deadline_s
        self.context = context or {}
        self._lock = threading.RLock()
        self._live: dict[str, Incident] = {}

    # ---- detect -----------------------------------------------------------------------
    def detect(self, alert: dict[str, Any], received_at: float | None = None) -> Incident | None:
        """Open an incident for a firing alert, or note a duplicate.

        Returns:
            The new incident, or None for a duplicate / an alert outside the catalog
            (both are recorded: the duplicate in the open incident's timeline).
        """
        now = received_at or time.time()
        labels = {**alert.get("labels", {}), **alert.get("annotations", {})}
        kind = self.catalog.match(alert.get("labels", {}))
        fingerprint = alert.get("fingerprint") or "|".join(sorted(alert.get("labels", {})))
        with self._lock, self.store.locked():
            current = self._open(fingerprint)
            why = "notificación duplicada (misma huella)"
            if current is None and kind is not None:  # e.g. the warning and the critical alert
                current = self._correlated(kind.key, labels.get("dag_id"),
                                           fresh_trigger=labels.get("alertname") == kind.alert)
                why = f"alerta correlacionada ({labels.get('alertname')}, mismo tipo)"
            if current is not None:
                current.add("detect", why, True, {"fingerprint": fingerprint}, t=now)
                self._save(current)
                return None
            if kind is None:
                return None
            incident = Incident(
                type=kind.key, category=kind.category, severity=kind.severity, title=kind.title,
                fingerprint=fingerprint, labels=labels,
                started_at=parse_ts(alert.get("startsAt")) or now, detected_at=now,
            )
            incident.add("detect", f"alerta {labels.get('alertname', kind.alert)} recibida", True,
                         {"labels": alert.get("labels", {}), "startsAt": alert.get("startsAt")},
                         t=now)
            self._live[fingerprint] = incident
            self._save(incident)
            return incident

    def close(self, alert: dict[str, Any], received_at: float | None = None) -> Incident | None:
        """Mark the open incident of a resolved alert as resolved (None when none is open)."""
        now = received_at or time.time()
        fingerprint = alert.get("fingerprint") or "|".join(sorted(alert.get("labels", {})))
        with self._lock, self.store.locked():
            incident = self._open(fingerprint)
            if incident is None:
                return None
            incident.resolved_at = parse_ts(alert.get("endsAt")) or now
            incident.add("close", "alerta resuelta en Alertmanager", True,
                         {"endsAt": alert.get("endsAt")}, t=now)
            self._save(incident)
            return incident

    # ---- diagnose / recover / verify / escalate ---------------------------------------
    def respond(self, incident: Incident) -> Incident:
        """Run the whole response for an open incident; returns it finished."""
        kind = self.catalog.get(incident.type)
        deadline = time.monotonic() + self.deadline_s
        ctx = {**self.context, **incident.labels, "incident_id": incident.id,
               "started_at": incident.started_at}
        self._set(incident, "diagnosing")
        for name in kind.diagnosis:
            out = self._step(incident, "diagnose", name, self.checks, ctx)
            incident.diagnosis[name] = {"ok": out.ok, "detail": out.detail}
            ctx[f"diag_{name}"] = out.detail
        if not kind.auto:
            return self.escalate(incident, "el catálogo no permite recuperación automática")
        self._set(incident, "recovering")
        for name in kind.recovery:
            if time.monotonic() > deadline:
                incident.add("recover", name, False, "omitida: plazo total agotado")
                break
            self._step(incident, "recover", name, self.actions, ctx)
            if all(self._step(incident, "verify", check, self.checks, ctx).ok
                   for check in kind.verify):
                incident.recovered_at = time.time()
                self._set(incident, "recovered")
                return self._finish(incident)
        return self.escalate(incident, "la recuperación automática no se pudo verificar")

    def escalate(self, incident: Incident, reason: str) -> Incident:
        """Record a page to the severity's recipients with the diagnosis attached."""
        rule = self.catalog.escalation_for(incident.severity)
        page = {"incident_id": incident.id, "type": incident.type,
                "severity": incident.severity, "reason": reason, **rule,
                "diagnosis": incident.diagnosis}
        self.store.page(page)
        incident.add("escalate", f"{rule['canal']} a {', '.join(rule['destinatarios'])}", True,
                     {"reason": reason, "plazo_min": rule["plazo_min"]})
        self._set(incident, "escalated")
        return self._finish(incident)

    def page_human(self, alert: dict[str, Any], receiver: str | None,
                   received_at: float | None = None) -> Incident | None:
        """Record, in the incident's timeline, that Alertmanager paged a human for ``alert``.

        Called for a firing alert labelled ``escalate="human"`` (a warning nobody repaired that
        became critical, ``rules/escalation.yml``). The page belongs to the incident its warning
        opened (same type and DAG); when there is none, the incident :meth:`detect` just opened.

        Returns:
            The incident the page was recorded in (None for an alert outside the catalog).
        """
        now = received_at or time.time()
        labels = alert.get("labels", {})
        kind = self.catalog.match(labels)
        if kind is None:
            return None
        fingerprint = alert.get("fingerprint") or "|".join(sorted(labels))
        with self._lock, self.store.locked():
            incident = (self._correlated(kind.key, labels.get("dag_id"), fingerprint)
                        or self._open(fingerprint))
            if incident is None:
                return None
            detail = {"alertname": labels.get("alertname"), "severity": labels.get("severity"),
                      "receiver": receiver, "startsAt": alert.get("startsAt"),
                      "fingerprint": fingerprint}
            self.store.page({"incident_id": incident.id, "type": incident.type,
                             "severity": incident.severity, "canal": "page-humano",
                             "reason": "advertencia sin reparar escalada a crítica", **detail,
                             "t": now})
            incident.add("escalate", f"página a una persona vía Alertmanager ({receiver})", True,
                         detail, t=now)
            self._save(incident)
            return incident

    def handle(self, notification: dict[str, Any], background: bool = True) -> list[str]:
        """Process one Alertmanager webhook payload.

        Args:
            notification: the webhook JSON (``alerts`` with ``status``, ``labels``,
                ``annotations``, ``startsAt``, ``endsAt``, ``fingerprint``).
            background: respond in a daemon thread (the receiver must answer quickly);
                False responds inline (tests, CLI).

        Returns:
            Ids of the incidents opened or closed by this payload.
        """
        touched = self.close_resolved(notification)
        for alert in notification.get("alerts", []):
            if alert.get("status") == "resolved":
                continue
            incident = self.detect(alert)
            if alert.get("labels", {}).get("escalate") == "human":
                paged = self.page_human(alert, notification.get("receiver"))
                touched += [paged.id] if paged and incident is None else []
            if incident is None:
                continue
            touched.append(incident.id)
            if background:
                threading.Thread(target=self.respond, args=(incident,), daemon=True,
                                 name=f"runbook-{incident.id}").start()
            else:
                self.respond(incident)
        return touched

    def close_resolved(self, notification: dict[str, Any]) -> list[str]:
        """Close the open incidents whose alerts this payload reports resolved; nothing else.

        Returns:
            Ids of the incidents closed.
        """
        closed = (self.close(alert) for alert in notification.get("alerts", [])
                  if alert.get("status") == "resolved")
        return [incident.id for incident in closed if incident]

    # ---- internals ----------------------------------------------------------------------
    def _open(self, fingerprint: str) -> Incident | None:
        """The incident whose alert (this fingerprint) has not resolved yet."""
        live = self._live.get(fingerprint)
        found = live if live is not None and live.resolved_at is None else None
        found = found or self.store.open_for(fingerprint)
        # a finished incident whose "resolved" was never received stops deduping after 15 min
        stale = found and found.finished and time.time() - found.timeline[-1]["t"] > 900
        return None if stale else found

    def _correlated(self, key: str, dag_id: str | None, exclude: str | None = None,
                    fresh_trigger: bool = False) -> Incident | None:
        """An incident of the same type and DAG still being handled or still firing.

        A sibling alert (warning then critical) must not open a second response while the
        first is working; a firing after the first one resolved and finished is a new incident.
        ``exclude`` skips the incident opened by that fingerprint (the sibling's own).
        ``fresh_trigger``: the alert is the type's own trigger (the catalog's ``alert``) firing
        anew. It joins only a response still working: a finished response whose *sibling* alert
        still fires (``PipelineLoadFailingRepeatedly`` looks back 10 minutes) is over, and the
        new fault behind the trigger is a new incident with its own response.
        """
        for incident in list(self._live.values()):
            if incident.type != key or incident.labels.get("dag_id") != dag_id:
                continue
            if exclude and incident.fingerprint == exclude:
                continue
            if not incident.finished or (incident.resolved_at is None and not fresh_trigger):
                return incident
        return None

    def _step(self, incident: Incident, phase: str, name: str, table: dict[str, Step],
              ctx: dict[str, Any]) -> Outcome:
        start = time.time()
        fn = table.get(name)
        if fn is None:
            out, elapsed = Outcome(False, f"paso {name!r} no implementado"), 0.0
        else:
            out, elapsed = _bounded(fn, ctx, self.step_timeout_s)
        incident.add(phase, name, out.ok, out.detail, duration_s=elapsed, t=start)
        with self._lock:
            self._save(incident)
        return out

    def _set(self, incident: Incident, status: str) -> None:
        with self._lock:
            incident.status = status
            self._save(incident)

    def _finish(self, incident: Incident) -> Incident:
        with self._lock:
            self._save(incident)
        return incident

    def _save(self, incident: Incident) -> None:
        self.store.save(incident)


# ---- the stack's runbook (used by the alert receiver) -----------------------------------
_DEFAULT: Runbook | None = None
_DEFAULT_LOCK = threading.Lock()


def incidents_dir() -> Path:
    """Folder of the stack's incident records (``var/incidents``)."""
    return settings.var / "incidents"


def automation_flag() -> Path:
    """The switch file: while it exists the runbook only records (class discussions).

    One definition, the observability room's (:func:`~opsbook.observability.alert_receiver.
    automation_off_flag`): the probes and ``stack up`` pause the runbook from below this room.
    """
    return alert_receiver.automation_off_flag()


def automation_enabled() -> bool:
    """True unless ``var/run/automation_off`` exists."""
    return not automation_flag().exists()


def set_automation(enabled: bool) -> bool:
    """Turn automatic remediation on or off (idempotent); returns the new state."""
    flag = automation_flag()
    if enabled:
        flag.unlink(missing_ok=True)
    else:
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.write_text("automation off\n")
    return automation_enabled()


def default_runbook() -> Runbook:
    """The process-wide runbook wired to the real checks and actions of the stack."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Runbook(diagnostics.CHECKS, recovery.ACTIONS,
                               IncidentStore(incidents_dir()), step_timeout_s=480.0,
                               deadline_s=1500.0)
        return _DEFAULT


def on_notification(notification: dict[str, Any]) -> list[str]:
    """Entry point of the alert receiver: handle one Alertmanager notification.

    Returns quickly (the response runs in a background thread). While the automation switch
    is off (an operator's pause, a drill, a stack mode switch) it opens and repairs nothing, but
    still closes the open incidents whose alerts resolve: closing is a record, not an action.
    Dropping those would leave an incident open forever, and the next drill of its type would
    wait for it and be refused (seen: ``PipelineLoadFailed`` resolving during day 4's switch to
    Celery, right after day 3's ``db_unreachable`` drill). The receiver calls this hook whether
    the switch is on or off, so this is the one place that decides what a pause allows.

    Args:
        notification: the Alertmanager webhook payload.

    Returns:
        Ids of the incidents opened or closed.
    """
    if not automation_enabled():
        return default_runbook().close_resolved(notification)
    return default_runbook().handle(notification, background=True)
