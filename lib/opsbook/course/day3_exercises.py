"""Day 3 assignment: the graders' view of the student's incidents on the shared stack.

Why this module exists: the three graded exercises of day 3 (a recovery step that repairs a real
``pipeline_down`` drill, the classification of alerts with their diagnosis, the post-mortem of
the student's own drill) are checked against what the STACK recorded — the incident store
(``var/incidents``), supervisord and Alertmanager — never against what the notebook printed.
Every incident a student's step answered carries the student id (label
:data:`~opsbook.incidents.delegated.OWNER_LABEL`) and is looked up only among incidents detected
after that student's notebook started, so grading student B after student A on the same stack
cannot pass or fail because of A. The unseen classification cases are built from the real
catalog (``incidents/incidents.yml``), a different selection and order per student.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from opsbook.course import day1
from opsbook.incidents.catalog import catalog
from opsbook.incidents.delegated import OWNER_LABEL
from opsbook.incidents.runbook import incidents_dir
from opsbook.incidents.timeline import Incident, IncidentStore

FAILED_TASK_TYPES = {"validate_params": "bad_config", "extract": "source_unreachable",
                     "transform": "transformation_bug", "load": "db_unreachable"}
"""Task of ``pipeline_ventas`` → the specific catalog type its failure means.

``dag_failure`` (``PipelineDagFailed``) only says that the run failed; the diagnosis
``failed_task_logs`` names the task, and each of these tasks has its own alert and type
(``rules/pipeline.yml``). A failed task not listed here (``customers``) leaves ``dag_failure``.
"""
RECOVERY_ACTION = "restart_scheduler"
"""The catalog action of ``pipeline_down`` the student's step replaces."""
TIME_TOLERANCE_S = 0.15


def session_start() -> float:
    """Epoch time the notebook started (incidents before it belong to someone else)."""
    return time.time()


def _store() -> IncidentStore:
    return IncidentStore(incidents_dir())


def incident(incident_id: str) -> Incident:
    """An incident as the stack's store holds it now."""
    return _store().load(incident_id)


def session_incidents(since: float, kind: str | None = None) -> list[Incident]:
    """Incidents the stack recorded after ``since`` (optionally of one type), oldest first."""
    return [i for i in _store().all()
            if i.detected_at >= since and (kind is None or i.type == kind)]


def student_incident(alumno: str, since: float) -> Incident | None:
    """The latest ``pipeline_down`` incident answered by ``alumno``'s step after ``since``."""
    day1.check_student(alumno)
    mine = [i for i in session_incidents(since, "pipeline_down")
            if i.labels.get(OWNER_LABEL) == alumno]
    return mine[-1] if mine else None


def recovery_problems(alumno: str, since: float) -> list[str]:
    """What the live stack says is wrong with ``alumno``'s recovery drill (empty: all good).

    Checks the incident in the store (recovered by the student's step, then verified by the
    catalog's check), supervisord (the scheduler running now was started by that step) and
    Alertmanager (the alert resolved).
    """
    from opsbook.incidents.diagnostics import scheduler_process
    from opsbook.incidents.drill_kit import firing_alerts
    from opsbook.stack import lifecycle as stack

    inc = student_incident(alumno, since)
    if inc is None:
        return [f"la pila no tiene ningún incidente pipeline_down de {alumno} en esta sesión"]
    problems = []
    if inc.status != "recovered":
        problems.append(f"incidente {inc.id} en estado {inc.status}, no recovered")
    recover = [e for e in inc.timeline if e["phase"] == "recover" and e["step"] == RECOVERY_ACTION]
    if not recover or not recover[0]["ok"]:
        problems.append(f"el paso {RECOVERY_ACTION} no se ejecutó con éxito en {inc.id}")
    verify = [e for e in inc.timeline if e["phase"] == "verify"]
    if not verify or not all(e["ok"] for e in verify):
        problems.append("la verificación del catálogo (stack_healthy) no pasó")
    if not scheduler_process({}).ok:
        problems.append("no hay un scheduler vivo en la pila")
    elif recover and verify:
        uptime = stack.status()["components"]["scheduler"]["uptime_s"] or 0
        started = time.time() - uptime
        end = verify[-1]["t"] + (verify[-1]["duration_s"] or 0)
        if not recover[0]["t"] - 2 <= started <= end + 2:
            problems.append("el scheduler que corre no lo arrancó tu paso (arrancó "
                            f"{started - recover[0]['t']:+.0f} s respecto a tu paso)")
    if inc.resolved_at is None:
        problems.append(f"la alerta de {inc.id} no consta como resuelta")
    if firing_alerts("pipeline_down"):
        problems.append("Alertmanager aún tiene activa AirflowSchedulerDown")
    return problems


# ---- exercise 2: classification ----------------------------------------------------------
def _rng(alumno: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"clasif:{day1.check_student(alumno)}".encode())
                             .hexdigest(), 16))


def _expected(key: str | None) -> dict[str, Any] | None:
    if key is None:
        return None
    cat = catalog()
    t = cat.get(key)
    return {"tipo": t.key, "severidad": t.severity, "decision": "recuperar" if t.auto else
            "escalar", "avisar": [] if t.auto else list(cat.escalation_for(t.severity)
                                                        ["destinatarios"])}


def expected_for(incident_: Incident) -> dict[str, Any] | None:
    """What the classification of a real incident must say.

    Its type as the stack opened it, except a ``dag_failure`` whose diagnosis names a failed
    task of :data:`FAILED_TASK_TYPES` (the db_unreachable drill also fails the whole run).
    """
    key = incident_.type
    if key == "dag_failure":
        detail = (incident_.diagnosis.get("failed_task_logs") or {}).get("detail")
        tasks = detail.get("tareas", {}) if isinstance(detail, dict) else {}
        key = next((FAILED_TASK_TYPES[t] for t, state in tasks.items()
                    if state == "failed" and t in FAILED_TASK_TYPES), key)
    return _expected(key)


def alert_of(incident_: Incident) -> dict[str, Any]:
    """The alert and diagnosis of a recorded incident, as ``clasificar`` receives them."""
    labels = incident_.timeline[0]["detail"].get("labels") if incident_.timeline else None
    return {"alerta": {"labels": labels or dict(incident_.labels)},
            "diagnostico": incident_.diagnosis}


def classification_cases(alumno: str) -> list[dict[str, Any]]:
    """Cases built from the catalog: ``alerta``, ``diagnostico`` and the ``esperado`` answer.

    One case per catalog type (by ``incident_type`` label or by alert name only, a random
    diagnosis), a sibling alert whose label names the type, every failed task of
    :data:`FAILED_TASK_TYPES` behind ``PipelineDagFailed``, a task that does not reclassify,
    a retrying task (not failed yet) and alerts the catalog does not know. Selection of
    variants and order depend on ``alumno``.
    """
    rng, cat = _rng(alumno), catalog()
    cases = []
    for t in cat.types.values():
        labels = {"alertname": t.alert, "dag_id": "pipeline_ventas",
                  "severity": rng.choice(["warning", "critical"])}
        if rng.random() < 0.5:
            labels["incident_type"] = t.key
        diag = {name: {"ok": rng.random() < 0.5, "detail": {}} for name in t.diagnosis}
        if t.key == "dag_failure":
            diag["failed_task_logs"] = {"ok": False, "detail": {"tareas": {}}}
        cases.append((labels, diag, t.key))
    cases.append(({"alertname": "PipelineLoadFailingRepeatedly", "severity": "critical",
                   "incident_type": "db_unreachable"}, {}, "db_unreachable"))
    for task, kind in FAILED_TASK_TYPES.items():
        tasks = {task: "failed", "load" if task != "load" else "transform": "upstream_failed"}
        with_label = rng.random() < 0.5
        labels = {"alertname": "PipelineDagFailed", "dag_id": "pipeline_ventas",
                  **({"incident_type": "dag_failure"} if with_label else {})}
        cases.append((labels, {"failed_task_logs": {"ok": False, "detail": {"tareas": tasks}},
                               "airflow_health": {"ok": True, "detail": {}}}, kind))
    for tasks in ({"customers": "failed", "load": "upstream_failed"},
                  {rng.choice(sorted(FAILED_TASK_TYPES)): "up_for_retry"}):
        cases.append(({"alertname": "PipelineDagFailed", "incident_type": "dag_failure"},
                      {"failed_task_logs": {"ok": False, "detail": {"tareas": tasks}}},
                      "dag_failure"))
    cases.append(({"alertname": "Watchdog", "severity": "none"}, {}, None))
    cases.append(({"alertname": "PipelineLoadFailingRepeatedly", "severity": "critical"}, {},
                  None))
    rng.shuffle(cases)
    return [{"alerta": {"labels": labels, "annotations": {}}, "diagnostico": diag,
             "esperado": _expected(kind)} for labels, diag, kind in cases]


# ---- exercise 3: post-mortem --------------------------------------------------------------
def postmortem_problems(pm: Any, incident_: Incident) -> list[str]:
    """Differences between a student's post-mortem and the incident the stack recorded.

    Args:
        pm: what ``redactar_postmortem`` returned.
        incident_: the incident as the store holds it.
    """
    if not isinstance(pm, dict):
        return [f"{incident_.id}: el post-mortem debe ser un dict, no {type(pm).__name__}"]
    problems = []
    cause = str(pm.get("causa_raiz") or "")
    failed = [n for n, r in incident_.diagnosis.items() if not r.get("ok")]
    passed = [n for n, r in incident_.diagnosis.items() if r.get("ok")]
    missing = [n for n in failed if n not in cause]
    extra = [n for n in passed if n in cause]
    if not cause.strip() or missing or extra:
        problems.append(f"{incident_.id}: causa_raiz debe nombrar los chequeos que fallaron "
                        f"(faltan {missing}) y ninguno que pasó (sobran {extra})")
    events = sorted(incident_.timeline, key=lambda e: e["t"])
    line = pm.get("linea_de_tiempo")
    if not isinstance(line, list) or len(line) != len(events):
        problems.append(f"{incident_.id}: linea_de_tiempo debe tener {len(events)} eventos")
    else:
        for k, (got, e) in enumerate(zip(line, events, strict=True)):
            want_t = e["t"] - incident_.started_at
            if (not isinstance(got, dict) or got.get("fase") != e["phase"]
                    or got.get("paso") != e["step"]
                    or abs(float(got.get("t_s", 1e9)) - want_t) > TIME_TOLERANCE_S):
                problems.append(f"{incident_.id}: evento {k} es {got!r}; la pila registró "
                                f"{e['phase']} · {e['step']} a t={want_t:.1f} s")
                break
    actions = [{"paso": e["step"], "ok": e["ok"]} for e in events
               if e["phase"] in ("recover", "escalate")]
    if pm.get("acciones") != actions:
        problems.append(f"{incident_.id}: acciones {pm.get('acciones')!r} ≠ las de la línea "
                        f"de tiempo {actions!r}")
    mttr = incident_.durations()["mttr_s"]
    got = pm.get("mttr_s")
    if (mttr is None) != (got is None) or (mttr is not None and abs(float(got) - mttr) > 0.5):
        problems.append(f"{incident_.id}: mttr_s {got!r}; la pila registró {mttr!r}")
    return problems
