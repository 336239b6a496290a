"""Day 3's escalation, shown happening: a warning nobody repairs becomes critical and pages a human.

Why this module exists: the runbook's last step (warning → critical → human) used to be a
sentence in the notebook. This drill makes it happen on the live stack. It drops a DAG file that
does not import into the stack's drill bundle; the dag-processor reports the import error, the
warning ``AirflowDagImportErrors`` fires and the runbook opens an incident it cannot repair
(code needs a person: catalog type ``circular_dependency``, ``auto: false``). Nobody repairs it,
so 10 s later ``AirflowDagImportErrorsUnrepaired`` (``rules/escalation.yml``) fires as critical
with ``escalate="human"``; Alertmanager routes it to the ``human-pager`` receiver and the runbook
records the page in the *same* incident's timeline. Only then does the drill repair the fault
(removes the file) and wait for the incident to close. The file is always removed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from opsbook.incidents.runbook import automation_enabled, incidents_dir
from opsbook.incidents.timeline import Incident, IncidentStore, iso, parse_ts
from opsbook.waiting import wait_until

WARNING = "AirflowDagImportErrors"
CRITICAL = "AirflowDagImportErrorsUnrepaired"
BROKEN_FILE = "escalado_sin_reparar.py"
SAMPLE = "sintaxis_rota"
PAGE_STEP = "página a una persona vía Alertmanager"
"""Start of the timeline step :meth:`Runbook.page_human` records."""


class EscalationRefused(RuntimeError):
    """The drill cannot show a clean escalation (automation off, or the warning already fires)."""


@dataclass
class EscalationResult:
    """What the escalation drill observed (epoch seconds; ``*_s`` are durations).

    Attributes:
        incident_id: the incident the warning opened and the page was recorded in.
        fault_at: when the broken DAG file was written.
        warning_at: when the warning started firing (its ``startsAt``).
        warning_received_at: when the runbook received the warning (incident detected).
        critical_at: when the critical alert started firing (its ``startsAt``).
        paged_at: when the human page reached the runbook (timeline event).
        repaired_at: when the drill removed the file (after the page, on purpose).
        resolved_at: when Alertmanager reported the warning resolved (None if not seen in time).
        receiver: the Alertmanager receiver that delivered the page.
        timeline: the incident's timeline events.
        pages: the page records of this incident (runbook's and human's).
    """

    incident_id: str
    fault_at: float
    warning_at: float
    warning_received_at: float
    critical_at: float
    paged_at: float
    repaired_at: float
    resolved_at: float | None
    receiver: str | None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def durations(self) -> dict[str, float | None]:
        """Seconds between the steps: fault → warning → critical → page → resolved."""
        return {
            "falla_a_advertencia_s": round(self.warning_at - self.fault_at, 1),
            "advertencia_a_critica_s": round(self.critical_at - self.warning_at, 1),
            "critica_a_pagina_s": round(self.paged_at - self.critical_at, 1),
            "falla_a_pagina_s": round(self.paged_at - self.fault_at, 1),
            "reparacion_a_cierre_s": (round(self.resolved_at - self.repaired_at, 1)
                                      if self.resolved_at else None),
        }

    def steps(self) -> list[dict[str, Any]]:
        """The escalation as ordered rows (step, UTC time, seconds since the fault)."""
        rows = [("fallo: DAG que no importa", self.fault_at),
                (f"advertencia {WARNING} disparada", self.warning_at),
                ("runbook abre el incidente (sin reparación automática)",
                 self.warning_received_at),
                (f"crítica {CRITICAL} disparada (sin reparar)", self.critical_at),
                (f"página a una persona ({self.receiver})", self.paged_at),
                ("reparación: se retira el archivo", self.repaired_at)]
        if self.resolved_at:
            rows.append(("alerta resuelta, incidente cerrado", self.resolved_at))
        return [{"paso": step, "hora": iso(t)[11:23], "t_s": round(t - self.fault_at, 1)}
                for step, t in rows]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (evidence)."""
        return {**asdict(self), "durations": self.durations, "steps": self.steps()}


def _page_event(incident: Incident) -> dict[str, Any] | None:
    return next((e for e in incident.timeline
                 if e["phase"] == "escalate" and e["step"].startswith(PAGE_STEP)), None)


def _paged_incident(store: IncidentStore, since: float) -> Incident | None:
    """The import-error incident opened after ``since`` whose timeline holds a human page."""
    for incident in reversed(store.all()):
        if incident.detected_at >= since and incident.labels.get("alertname") == WARNING \
                and _page_event(incident):
            return incident
    return None


def run(timeout_s: float = 240.0, clear_timeout_s: float = 120.0) -> EscalationResult:
    """Leave an import-error warning unrepaired until a human is paged, then repair it.

    Args:
        timeout_s: deadline for the warning, the critical alert and the page.
        clear_timeout_s: deadline for the warning to resolve after the repair.

    Returns:
        The observed times and the incident's timeline.

    Raises:
        EscalationRefused: automation is off (nobody would record the page) or the warning
            already fires (the escalation would belong to another fault).
        opsbook.waiting.WaitTimeout: the page did not arrive in ``timeout_s``.
    """
    from opsbook.airflow.dag_drill import sample_source
    from opsbook.airflow.env import drill_dags_dir
    from opsbook.observability.alerts import state

    if not automation_enabled():
        raise EscalationRefused("la automatización del runbook está apagada: nadie anotaría "
                                "la página (opsbook runbook automation on)")
    if state(WARNING)[0] != "inactive":
        raise EscalationRefused(f"{WARNING} ya está activa: repara primero el error de "
                                "importación existente")
    store = IncidentStore(incidents_dir())
    path: Path = drill_dags_dir() / BROKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fault_at = time.time()
    try:
        path.write_text(sample_source(SAMPLE))
        incident = wait_until(lambda: _paged_incident(store, fault_at), timeout_s, 1.0,
                              f"la página humana de {CRITICAL}")
    finally:
        path.unlink(missing_ok=True)
        repaired_at = time.time()
    try:
        wait_until(lambda: store.load(incident.id).resolved_at, clear_timeout_s, 1.0,
                   f"que {WARNING} se resuelva tras la reparación")
    except TimeoutError:
        pass  # reported as resolved_at=None; the caller decides
    incident = store.load(incident.id)
    page = _page_event(incident)
    return EscalationResult(
        incident_id=incident.id, fault_at=fault_at, warning_at=incident.started_at,
        warning_received_at=incident.detected_at,
        critical_at=parse_ts(page["detail"].get("startsAt")) or page["t"], paged_at=page["t"],
        repaired_at=repaired_at, resolved_at=incident.resolved_at,
        receiver=page["detail"].get("receiver"), timeline=incident.timeline,
        pages=[p for p in store.pages() if p.get("incident_id") == incident.id])
