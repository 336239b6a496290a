"""A drill answered by recovery steps written outside the stack (day 3's graded exercise).

Why this module exists: the stack's own runbook (inside the alert receiver) answers every alert
with the catalog's real actions, so a student's recovery step cannot be plugged into it. For
the exercise, a drill runs as a separate episode with the stack's automation switched off: the
fault is real, the alert really travels Prometheus → Alertmanager, and this module takes the
firing alert from Alertmanager's API and hands it to a :class:`~opsbook.incidents.runbook.Runbook`
that runs in the caller's process with the student's steps in place of the catalog's actions.
The incident goes to the stack's incident store labelled with the student id, the verification
is the catalog's own, and the incident is closed only when Alertmanager no longer holds the
alert (:func:`finish` closes it after the stack was put back when the student's step did not
repair). Automation is always switched back on.
"""

from __future__ import annotations

from typing import Any

from opsbook.incidents import diagnostics, recovery, runbook
from opsbook.incidents.catalog import catalog
from opsbook.incidents.drill_kit import DAG_ID, Drill, DrillRefused
from opsbook.incidents.outcome import Outcome, Step
from opsbook.incidents.timeline import Incident, IncidentStore, parse_ts
from opsbook.waiting import WaitTimeout, wait_until

OWNER_LABEL = "alumno"
"""Incident label with the id of the student whose steps answered it."""
VERIFY_TIMEOUT_S = 240.0
"""Bound of the verification after a student's step: as long as the stack's runbook allows
(a new scheduler on a loaded 2-core machine took more than a minute to heartbeat)."""
STEP_TIMEOUT_S = 300.0
"""Bound of each step; the verification step (:data:`VERIFY_TIMEOUT_S`) must fit in it."""
RESOLVE_TIMEOUT_S = 90.0


def suspend() -> None:
    """Switch the stack's automation off so only the caller's runbook answers the fault."""
    runbook.set_automation(False)


def resume() -> None:
    """Switch the stack's automation back on (idempotent)."""
    runbook.set_automation(True)


def finish(d: Drill) -> None:
    """End the episode: close the drill's incident once its alert resolved, then resume.

    Alertmanager's "resolved" notification also reaches the stack's paused runbook, which closes
    the incident when it comes after this runbook's last save; a later save of the caller's
    runbook can still overwrite that close, and an incident left unresolved would make the next
    drill of its type wait for an episode that already ended. Called after the stack was put
    back (a step that did not repair leaves the alert firing until then).
    """
    try:
        inc = d.store.load(d.incident.id) if d.incident is not None else None
        if inc is not None and inc.resolved_at is None:
            _close_when_resolved(d, inc.labels.get("alertname", ""), inc.fingerprint)
    finally:
        resume()


def _close_when_resolved(d: Drill, alertname: str, fingerprint: str) -> None:
    try:
        wait_until(lambda: not [a for a in _active(alertname, 0)
                                if a.get("fingerprint") == fingerprint],
                   RESOLVE_TIMEOUT_S, 1.0, "que Alertmanager dé la alerta por resuelta")
    except WaitTimeout as exc:
        d.event("alerta resuelta en Alertmanager", False, str(exc))
        return
    local_runbook({}).close({"fingerprint": fingerprint})
    d.incident = d.store.load(d.incident.id)
    d.event("alerta resuelta en Alertmanager", True, {"incidente": d.incident.id})


def probe(actions: dict[str, Step]) -> None:
    """Call each step once on the healthy stack: it must succeed and change nothing.

    A recovery action is idempotent (the catalog's contract): with nothing broken it returns
    ``ok`` and leaves every process as it was. Checking that before the fault makes a missing
    or broken step fail in a second instead of after a whole drill.

    Raises:
        DrillRefused: naming the step and what it did wrong (Spanish).
    """
    from opsbook.stack import lifecycle as stack

    def pids() -> dict[str, Any]:
        return {n: c["pid"] for n, c in stack.status()["components"].items()}

    for name, step in actions.items():
        before = pids()
        try:
            out = step({"incident_id": "prueba-sin-fallo", "dag_id": DAG_ID})
        except Exception as exc:  # noqa: BLE001 - reported to the student
            raise DrillRefused(f"tu paso {name} falló con la pila sana: "
                               f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(out, Outcome) or not out.ok:
            raise DrillRefused(f"tu paso {name} debe devolver Outcome(True, ...) con la pila "
                               f"sana (no hay nada que reparar); devolvió {out!r}")
        changed = sorted(n for n, pid in pids().items() if pid != before.get(n))
        if changed:
            raise DrillRefused(f"tu paso {name} no es idempotente: con la pila sana cambió "
                               f"{changed}")


def _active(alertname: str, after: float) -> list[dict[str, Any]]:
    from opsbook.observability.alerts import alertmanager_alerts

    return [a for a in alertmanager_alerts() if a["labels"].get("alertname") == alertname
            and (parse_ts(a.get("startsAt")) or 0) >= after]


def wait_alert(kind: str, after: float, timeout_s: float) -> dict[str, Any]:
    """The trigger alert of ``kind`` as Alertmanager holds it, once it fires after ``after``."""
    name = catalog().get(kind).alert
    found = wait_until(lambda: _active(name, after), timeout_s, 0.5,
                       f"que Alertmanager tenga activa {name} (¿dispara la regla?)")
    return found[0]


def local_runbook(actions: dict[str, Step]) -> runbook.Runbook:
    """A runbook on the stack's incident store with ``actions`` in place of the catalog's."""
    checks = {**diagnostics.CHECKS,
              "stack_healthy": lambda ctx: diagnostics.stack_healthy(ctx, VERIFY_TIMEOUT_S)}
    return runbook.Runbook(checks, {**recovery.ACTIONS, **actions},
                           IncidentStore(runbook.incidents_dir()),
                           step_timeout_s=STEP_TIMEOUT_S, deadline_s=300.0)


def respond(d: Drill, kind: str, after: float, timeout_s: float, actions: dict[str, Step],
            owner: str) -> Incident:
    """Answer the drill's alert with ``actions`` and close the incident once the alert resolves.

    Args:
        d: the running drill (its record gets the events; ``d.incident`` the incident).
        kind: catalog type the fault raises.
        after: the alert must have started after this epoch time (the drill's fault).
        timeout_s: bound for the alert to fire.
        actions: action name → the student's step (a catalog action name it replaces).
        owner: student id, stored as the incident's :data:`OWNER_LABEL`.

    Returns:
        The incident as saved in the stack's store (recovered or escalated).
    """
    unknown = sorted(set(actions) - set(catalog().get(kind).recovery))
    if unknown:
        raise ValueError(f"acciones {unknown} no son pasos de recuperación de {kind}: usa "
                         f"{list(catalog().get(kind).recovery)}")
    alert = wait_alert(kind, after, timeout_s)
    rb = local_runbook(actions)
    incident = rb.detect(alert)
    if incident is None:  # the stack already holds an open incident for this alert
        raise RuntimeError(f"la alerta {alert['labels'].get('alertname')} ya tenía un "
                           "incidente abierto: el simulacro no es un episodio nuevo")
    incident.labels[OWNER_LABEL] = owner
    d.incident = incident
    d.event("incidente abierto con los pasos del alumno", True,
            {"incidente": incident.id, OWNER_LABEL: owner, "acciones": sorted(actions)})
    rb.respond(incident)
    d.incident = d.store.load(incident.id)
    if d.incident.status == "recovered":
        _close_when_resolved(d, alert["labels"].get("alertname", ""), incident.fingerprint)
    return d.incident
