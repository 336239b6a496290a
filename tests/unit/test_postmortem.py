"""Post-mortems are computed from the recorded timeline, never typed by hand."""

import pytest
from opsbook.incidents import postmortem
from opsbook.incidents.timeline import Incident

pytestmark = pytest.mark.unit

T0 = 1_800_000_000.0


def recorded_incident(status="recovered"):
    inc = Incident(type="pipeline_down", category="connectivity", severity="SEV-1",
                   title="Componente del pipeline caído (scheduler)", fingerprint="fp",
                   labels={"alertname": "AirflowSchedulerDown"}, started_at=T0 + 2,
                   detected_at=T0 + 20)
    inc.add("detect", "alerta AirflowSchedulerDown recibida", True, t=T0 + 20)
    inc.add("diagnose", "scheduler_process", False, {"pid": None}, 0.1, t=T0 + 20.5)
    inc.diagnosis["scheduler_process"] = {"ok": False, "detail": {"pid": None}}
    inc.add("diagnose", "metadata_db", True, {"latencia_ms": 3}, 0.05, t=T0 + 20.7)
    inc.diagnosis["metadata_db"] = {"ok": True, "detail": {"latencia_ms": 3}}
    inc.add("recover", "restart_scheduler", True, {"pid_nuevo": 42}, 4.0, t=T0 + 21)
    inc.add("verify", "stack_healthy", status == "recovered", {}, 9.0, t=T0 + 25)
    if status == "recovered":
        inc.recovered_at = T0 + 34
    else:
        inc.add("escalate", "page a on-call", True, {"reason": "x"}, t=T0 + 35)
    inc.status = status
    return inc


def drill_record():
    return {
        "name": "pipeline_down", "fault_at": T0, "healthy_at": T0 + 34,
        "root_cause": "kill -9 del proceso scheduler (pid 41)",
        "events": [{"t": T0, "ts": "x" * 23, "phase": "drill", "step": "kill -9 scheduler",
                    "ok": True, "duration_s": None, "detail": {"pid": 41}}],
        "runs": [
            {"run_id": "during", "queued_at": T0 + 5, "end_at": T0 + 60, "rows": 500},
            {"run_id": "before", "queued_at": T0 - 100, "end_at": T0 - 50, "rows": 300},
            {"run_id": "after", "queued_at": T0 + 90, "end_at": T0 + 120, "rows": 200},
        ],
        "rows_expected": 500, "rows_loaded": 500,
    }


def test_impact_is_computed_from_the_timeline_and_runs():
    facts = postmortem.impact(recorded_incident(), drill_record())
    assert facts["outage_s"] == 34.0
    assert facts["runs_delayed"] == 1 and facts["rows_late"] == 500
    assert facts["sla_minutes_lost"] == round(34 / 60, 2)
    assert facts["mttd_s"] == 20.0 and facts["mtta_s"] == 20.5 and facts["mttr_s"] == 34.0
    assert facts["rows_lost"] == 0


def test_rendered_report_has_every_section_and_the_real_numbers():
    text = postmortem.render(recorded_incident(), drill_record())
    for heading in ("Resumen ejecutivo", "Línea de tiempo", "Impacto en usuarios y negocio",
                    "Análisis de causa raíz", "Pasos de resolución", "Lecciones aprendidas",
                    "Qué salió bien", "Qué salió mal", "Dónde tuvimos suerte",
                    "Acciones correctivas", "Prevención"):
        assert heading in text, heading
    assert "kill -9 del proceso scheduler (pid 41)" in text
    assert "**34.0 s**" in text  # MTTR from the timeline
    section = text.split("## 2. Línea de tiempo")[1].split("## 3.")[0]
    timeline_rows = [ln for ln in section.splitlines() if ln.startswith("| ")][1:]
    assert len(timeline_rows) == 6  # 5 runbook events + 1 drill event
    assert "| Acción | Responsable |" in text and "ingeniería de monitoreo" in text
    assert "{{" not in text and "{%" not in text


def test_lessons_follow_the_facts():
    good = postmortem.render(recorded_incident(), drill_record())
    bad = postmortem.render(recorded_incident("escalated"), drill_record())
    assert "recuperó el servicio sin intervención humana" in good
    assert "se escaló a una persona" in bad and "no se recuperó" not in good
    assert "La detección consumió 20.0 s" in good  # detection > half of MTTR


def test_incident_without_drill_uses_its_failed_checks_as_root_cause():
    inc = recorded_incident()
    text = postmortem.render(inc)
    assert "Chequeos en fallo: scheduler_process" in text
    assert postmortem.impact(inc)["runs_delayed"] == 0


def test_timeline_is_time_ordered():
    inc = recorded_incident()
    inc.add("close", "alerta resuelta", True, t=T0 + 50)
    merged = postmortem.merged_timeline(inc, drill_record())
    assert [e["t"] for e in merged] == sorted(e["t"] for e in merged)
    assert merged[0]["phase"] == "drill"


def drill_result():
    inc = recorded_incident()
    rec = drill_record()
    from opsbook.incidents.drill_kit import DrillResult

    return DrillResult(**rec, ok=True, still_broken=[], incident=inc.to_dict(),
                       impact=postmortem.impact(inc, rec), mttr_s=34.0)


def test_notebook_tables_and_summary_come_from_the_result():
    from opsbook.course import day3

    result = drill_result()
    spans = day3.phase_spans(result).set_index("fase")
    assert spans.loc["detect", "inicio_s"] == 0.0 and spans.loc["detect", "fin_s"] == 20.0
    assert spans.loc["recover", "fin_s"] == 25.0  # 21 s start + 4 s duration
    assert len(day3.timeline_frame(result)) == 6
    summary = day3.summary({"pipeline_down": result})
    assert summary["mttr_s"] == {"pipeline_down": 34.0}
    assert summary["rows_lost"] == 0 and summary["all_recovered"] is True
    text = day3.answers({"pipeline_down": result})
    assert "detección consumió 20.0 s de un MTTR de 34.0 s" in text


def test_notebook_parameters_are_validated():
    from opsbook.course import day3

    with pytest.raises(ValueError, match="drills_to_run"):
        day3.check_params(["nada"], 600)
    with pytest.raises(ValueError, match="timeout_s"):
        day3.check_params(["pipeline_down"], 5)
