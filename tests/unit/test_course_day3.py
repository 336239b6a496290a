"""Day 3's graded exercises: the grader's cases, its post-mortem comparison and the step probe."""

from __future__ import annotations

import re

import pytest
from opsbook.course import authoring
from opsbook.course import day3_exercises as day3x
from opsbook.incidents import delegated
from opsbook.incidents.catalog import catalog
from opsbook.incidents.drill_kit import DrillRefused
from opsbook.incidents.outcome import Outcome
from opsbook.incidents.timeline import Incident, IncidentStore
from opsbook.settings import settings

pytestmark = pytest.mark.unit
T0 = 1_800_000_000.0


def reference_classifier(alerta, diagnostico):
    """What the reference solution does (the exercise's statement, in code)."""
    cat = catalog()
    kind = cat.match(alerta.get("labels", {}))
    if kind is None:
        return None
    if kind.key == "dag_failure":
        detail = (diagnostico.get("failed_task_logs") or {}).get("detail") or {}
        for task, state in detail.get("tareas", {}).items():
            if state == "failed" and task in day3x.FAILED_TASK_TYPES:
                kind = cat.get(day3x.FAILED_TASK_TYPES[task])
                break
    escalate = not kind.auto
    return {"tipo": kind.key, "severidad": kind.severity,
            "decision": "escalar" if escalate else "recuperar",
            "avisar": list(cat.escalation_for(kind.severity)["destinatarios"]) if escalate else []}


def naive_classifier(alerta, diagnostico):
    kind = catalog().match(alerta.get("labels", {}))
    return None if kind is None else {"tipo": kind.key, "severidad": kind.severity,
                                      "decision": "recuperar", "avisar": []}


def test_classification_cases_cover_the_catalog_and_differ_per_student():
    cases = day3x.classification_cases("ana")
    expected_types = {c["esperado"]["tipo"] for c in cases if c["esperado"]}
    assert expected_types == set(catalog().types)
    assert any(c["esperado"] is None for c in cases)
    assert all(reference_classifier(c["alerta"], c["diagnostico"]) == c["esperado"]
               for c in cases)
    assert [c["alerta"] for c in cases] != [c["alerta"] for c in
                                            day3x.classification_cases("beto")]
    assert day3x.classification_cases("ana") == cases  # deterministic per student


def test_a_classifier_that_ignores_the_diagnosis_or_the_decision_fails():
    cases = day3x.classification_cases("ana")
    wrong = [c for c in cases if naive_classifier(c["alerta"], c["diagnostico"]) != c["esperado"]]
    reclassified = [c for c in cases if c["esperado"] and c["alerta"]["labels"].get("alertname")
                    == "PipelineDagFailed" and c["esperado"]["tipo"] != "dag_failure"]
    assert len(reclassified) == len(day3x.FAILED_TASK_TYPES)
    assert len(wrong) > len(reclassified)


def test_failed_task_types_name_real_tasks_and_the_rules_that_watch_them():
    dag = (settings.root / "dags" / "pipeline_ventas.py").read_text()
    rules = (settings.root / "monitoring" / "prometheus" / "rules" / "pipeline.yml").read_text()
    for task, kind in day3x.FAILED_TASK_TYPES.items():
        assert re.search(rf"def {task}\(", dag), task
        assert kind in catalog().types
        alert = catalog().get(kind).alert
        block = rules[rules.index(f"alert: {alert}"):].split("- alert:")[0]
        if "task_id=" in block:
            assert f'task_id="{task}"' in block, (task, alert)


def test_a_dag_failure_incident_is_expected_as_its_failed_task():
    inc = recorded()
    inc.type = "dag_failure"
    inc.diagnosis = {"failed_task_logs": {"ok": False, "detail": {
        "tareas": {"load": "failed", "report": "upstream_failed"}}}}
    assert day3x.expected_for(inc)["tipo"] == "db_unreachable"
    inc.diagnosis["failed_task_logs"]["detail"]["tareas"] = {"customers": "failed"}
    assert day3x.expected_for(inc) == {"tipo": "dag_failure", "severidad": "SEV-2",
                                       "decision": "escalar", "avisar": ["on-call de datos"]}


def recorded(owner=None, detected=T0 + 20):
    inc = Incident(type="pipeline_down", category="connectivity", severity="SEV-1",
                   title="Componente del pipeline caído (scheduler)", fingerprint="fp",
                   labels={"alertname": "AirflowSchedulerDown",
                           **({"alumno": owner} if owner else {})},
                   started_at=detected - 18, detected_at=detected)
    inc.add("detect", "alerta AirflowSchedulerDown recibida", True,
            {"labels": {"alertname": "AirflowSchedulerDown", "incident_type": "pipeline_down"}},
            t=detected)
    inc.add("diagnose", "scheduler_process", False, {"pid": None}, 0.1, t=detected + 0.5)
    inc.diagnosis["scheduler_process"] = {"ok": False, "detail": {"pid": None}}
    inc.add("diagnose", "metadata_db", True, {}, 0.05, t=detected + 0.7)
    inc.diagnosis["metadata_db"] = {"ok": True, "detail": {}}
    inc.add("recover", "restart_scheduler", True, {"pid_nuevo": 42}, 4.0, t=detected + 1)
    inc.add("verify", "stack_healthy", True, {}, 9.0, t=detected + 5)
    inc.recovered_at = detected + 14
    inc.status = "recovered"
    return inc


def good_postmortem(inc):
    return {"causa_raiz": "scheduler caído: falló scheduler_process",
            "linea_de_tiempo": [{"t_s": round(e["t"] - inc.started_at, 1), "fase": e["phase"],
                                 "paso": e["step"]} for e in inc.timeline],
            "acciones": [{"paso": "restart_scheduler", "ok": True}],
            "mttr_s": inc.recovered_at - inc.started_at}


def test_postmortem_comparison_accepts_the_recorded_facts_only():
    inc = recorded()
    assert day3x.postmortem_problems(good_postmortem(inc), inc) == []
    for key, value in (("causa_raiz", "falló scheduler_process y metadata_db"),
                       ("causa_raiz", "el scheduler murió"),
                       ("acciones", []),
                       ("mttr_s", 20.0),
                       ("mttr_s", None)):
        pm = {**good_postmortem(inc), key: value}
        assert day3x.postmortem_problems(pm, inc), (key, value)
    shifted = good_postmortem(inc)
    shifted["linea_de_tiempo"][2] = {**shifted["linea_de_tiempo"][2],
                                     "t_s": shifted["linea_de_tiempo"][2]["t_s"] + 1}
    assert "evento 2" in day3x.postmortem_problems(shifted, inc)[0]
    assert day3x.postmortem_problems("texto", inc)


def test_student_incident_is_the_students_own_and_from_this_session(tmp_path, monkeypatch):
    monkeypatch.setattr(day3x, "incidents_dir", lambda: tmp_path)
    store = IncidentStore(tmp_path)
    old, other, mine = recorded("ana", T0), recorded("beto", T0 + 100), recorded("ana", T0 + 200)
    for inc in (old, other, mine):
        store.save(inc)
    assert day3x.student_incident("ana", T0 + 50).id == mine.id
    assert day3x.student_incident("beto", T0 + 150) is None
    assert [i.id for i in day3x.session_incidents(T0 + 50)] == [other.id, mine.id]
    with pytest.raises(ValueError, match="alumno"):
        day3x.student_incident("Ana López", T0)


class FakeStack:
    def __init__(self):
        self.pids = {"scheduler": 10, "api-server": 11}

    def status(self):
        return {"components": {n: {"pid": p} for n, p in self.pids.items()}}


@pytest.fixture
def fake_stack(monkeypatch):
    from opsbook.stack import lifecycle

    stack = FakeStack()
    monkeypatch.setattr(lifecycle, "status", stack.status)
    return stack


def test_probe_refuses_a_missing_wrong_or_restarting_step(fake_stack):
    def stub(ctx):
        raise NotImplementedError()

    def restarts(ctx):
        fake_stack.pids["scheduler"] += 1
        return Outcome(True, {})

    for step, why in ((stub, "NotImplementedError"), (lambda ctx: True, "Outcome"),
                      (lambda ctx: Outcome(False, {}), "Outcome"),
                      (restarts, "idempotente")):
        with pytest.raises(DrillRefused, match=why):
            delegated.probe({"restart_scheduler": step})
    delegated.probe({"restart_scheduler": lambda ctx: Outcome(True, {"accion": "ninguna"})})


def test_day3_source_has_three_live_exercises():
    crit = authoring.criteria(authoring.read_source(authoring.source_path(3)))
    assert {c.exercise for c in crit} == {"ej1", "ej2", "ej3"}
    assert all(c.points > 0 for c in crit)
    source = authoring.source_path(3).read_text()
    assert source.count("### BEGIN HIDDEN TESTS") == 3
