"""Day-3 drills against the live stack: real faults, automatic recovery, nothing lost.

Each drill injects a real fault and only observes: the alert goes through Prometheus and
Alertmanager to the stack's receiver, whose runbook diagnoses and recovers. These tests check
the outcome the course promises: recovered, row counts intact, stack healthy at the end, and
a post-mortem generated from the recorded timeline.
"""

import pytest
from opsbook import drills, runbook
from opsbook.timeline import IncidentStore

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def check_common(result, name):
    assert result["still_broken"] == [], result["still_broken"]
    inc = result["incident"]
    assert inc["type"] == name and inc["status"] == "recovered", inc["status"]
    phases = [e["phase"] for e in inc["timeline"]]
    assert phases.index("detect") < phases.index("diagnose") < phases.index("recover")
    assert "verify" in phases
    assert result["impact"]["rows_lost"] == 0
    # the post-mortem comes from this very timeline
    assert inc["id"] in result["postmortem"]
    assert f"{result['impact']['mttr_s']} s" in result["postmortem"]
    stored = IncidentStore(runbook.incidents_dir()).load(inc["id"])
    assert stored.recovered_at == inc["recovered_at"]


def test_drill_refuses_when_automation_is_off(live_stack):
    runbook.set_automation(False)
    try:
        with pytest.raises(drills.DrillRefused, match="automatización"):
            drills.run("pipeline_down")
    finally:
        runbook.set_automation(True)
    assert drills.restore_stack() == []


def test_pipeline_down(live_stack):
    result = drills.run("pipeline_down")
    check_common(result, "pipeline_down")
    assert result["ok"], [e for e in result["events"] if e["ok"] is False]
    assert result["mttr_s"] > 0 and result["impact"]["runs_delayed"] >= 1
    assert result["rows_loaded"] == result["rows_expected"]
    drills.save_evidence(result)


def test_data_corruption(live_stack):
    result = drills.run("data_corruption")
    check_common(result, "data_corruption")
    first = result["first_load"]
    assert first["en_cuarentena"] > 0  # the corrupt rows were caught, not loaded
    assert first["cargadas"] + first["en_cuarentena"] == result["rows_expected"]
    assert result["rows_loaded"] == result["rows_expected"] and result["ok"]
    drills.save_evidence(result)


def test_db_unreachable(live_stack):
    result = drills.run("db_unreachable")
    check_common(result, "db_unreachable")
    partial = next(e for e in result["events"] if "sin carga parcial" in e["step"])
    assert partial["ok"], partial["detail"]
    assert result["rows_loaded"] == result["rows_expected"] and result["ok"]
    drills.save_evidence(result)
