"""Day-2 assignment helpers: each student's namespace and the promtool checks of their PromQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from opsbook.course import day1
from opsbook.course import day2_assignment as tarea
from opsbook.settings import settings

pytestmark = pytest.mark.unit

SERIES = "airflow_pipeline_transform_errors"
NAIVE_PANEL = (f'sum by (dag_id) ({SERIES}{{dag_id="pipeline_ventas"}}) - '
               f'(sum by (dag_id) ({SERIES}{{dag_id="pipeline_ventas"}} offset 1m) '
               f'or sum by (dag_id) ({SERIES}{{dag_id="pipeline_ventas"}}) * 0)')
PANEL = tarea.reference_panel()
RULE = {"alert": tarea.RULE_NAME, "expr": tarea.reference_alert_expr(SERIES),
        "for": "0s", "labels": {"severity": "warning"}}
FIRES = {"exp_labels": {"severity": "warning", "dag_id": "pipeline_ventas"}}
TEST = [{"interval": "1s",
         "input_series": [{"series": f'{SERIES}{{dag_id="pipeline_ventas"}}',
                           "values": "_x30 5x200"}],
         "alert_rule_test": [
             {"eval_time": "40s", "alertname": tarea.RULE_NAME, "exp_alerts": [FIRES]},
             {"eval_time": "150s", "alertname": tarea.RULE_NAME, "exp_alerts": []}]}]


def test_dirty_run_dates_are_per_student_after_day1_span_and_in_the_past():
    end_day1 = day1.FIRST_DATE + timedelta(days=day1.SPAN_DAYS)
    dates = {tarea.student_date(f"alumno-{i}") for i in range(40)}
    assert len(dates) > 20
    for d in map(date.fromisoformat, dates):
        assert end_day1 <= d < end_day1 + timedelta(days=tarea.SPAN_DAYS) < date(2026, 12, 1)
    assert tarea.student_date("ana") == tarea.student_date("ana")


def test_run_ids_belong_to_their_student_only():
    run_id = tarea.run_id("ana", "sucia")
    assert run_id.endswith("__sucia") and tarea.owns_run("ana", run_id)
    assert not tarea.owns_run("an", run_id) and not tarea.owns_run("beto", run_id)


@pytest.mark.parametrize(("change", "message"), [
    ({"alert": "Otra"}, "CuarentenaDetectada"),
    ({"expr": ""}, "expr"),
    ({"labels": {"severity": "critical"}}, "severity"),
    ({"for": "1m"}, "como mucho"),
    ({"annotations": {"summary": "{{ $labels.dag_id }}"}}, "plantillas"),
    ({"extra": 1}, "desconocidas"),
])
def test_malformed_rules_are_refused_with_what_to_change(change, message):
    with pytest.raises(ValueError, match=message):
        tarea.check_rule({**RULE, **change})


def test_promtool_runs_the_students_test_and_counts_cases(tmp_path):
    run = tarea.run_rule_test(RULE, TEST, tmp_path)
    assert run.ok, run.output
    assert run.cases == 2
    wrong = [{**TEST[0], "alert_rule_test": [{**TEST[0]["alert_rule_test"][0],
                                              "exp_alerts": []}]}]
    assert not tarea.run_rule_test(RULE, wrong, tmp_path).ok


def test_a_test_without_the_newborn_counter_case_lets_the_naive_rule_survive(tmp_path):
    naive = f"sum by (dag_id) (increase({SERIES}[1m])) > 0"
    assert tarea.survivors(RULE, TEST, [naive, f"sum by (dag_id) ({SERIES}) >= 0"],
                           tmp_path) == []
    only_preinit = [{**TEST[0], "input_series": [{**TEST[0]["input_series"][0],
                                                  "values": "0x30 5x200"}]}]
    assert tarea.survivors(RULE, only_preinit, [naive], tmp_path) == [naive]


def test_panel_cases_need_the_exact_count_and_only_pipeline_ventas(tmp_path):
    cases = [("_x30 9x300", 45, 9), ("3x100 10x300", 130.5, 7), ("0x30 7x300", 150, 0)]
    assert tarea.run_panel_cases(PANEL, cases, tmp_path).ok
    extrapolated = f'sum by (dag_id) (increase({SERIES}{{dag_id="pipeline_ventas"}}[1m]))'
    assert not tarea.run_panel_cases(extrapolated, cases[1:2], tmp_path).ok
    every_dag = PANEL.replace('{dag_id="pipeline_ventas"}', "")
    assert not tarea.run_panel_cases(every_dag, cases[:1], tmp_path).ok


def test_panel_never_goes_negative_after_a_restart_within_the_minute(tmp_path):
    """A stack restart less than 1 min ago: 1 min back the counter was higher than now.

    The naive subtraction gave −1743 in the re-run test right after a restart; the reference
    counts the rows since the restart.
    """
    restart = [("9x100 _x10 0x5 4x300", 130, 4)]
    assert tarea.run_panel_cases(PANEL, restart, tmp_path).ok
    naive = tarea.run_panel_cases(NAIVE_PANEL, restart, tmp_path)
    assert not naive.ok and "-5E+00" in naive.output


def test_rule_cases_check_firing_and_resolution(tmp_path):
    assert tarea.run_alert_cases(RULE, [("_x30 9x300", 45, True), ("0x300", 45, False),
                                        ("0x30 7x300", 150, False)], tmp_path).ok
    never = {**RULE, "expr": f"sum by (dag_id) ({SERIES}) < 0"}
    assert not tarea.run_alert_cases(never, [("0x30 7x300", 45, True)], tmp_path).ok


@pytest.mark.parametrize(("series", "window"), [
    ("airflow_pipeline_dag_failure", "15m"), ("airflow_pipeline_dag_success", "15m"),
    ("airflow_pipeline_sla_violations", "30m"), ("airflow_pipeline_load_errors", "10m")])
def test_reference_window_count_is_the_form_of_the_windowed_rules(series, window):
    """The hidden check and the alert rules count in a window the same way (they drifted once)."""
    rules = (settings.root / "monitoring/prometheus/rules/pipeline.yml").read_text()
    rules = " ".join(rules.split())
    assert tarea.window_count(series, window) in rules
