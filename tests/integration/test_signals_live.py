"""After a real pipeline_ventas run, every dashboard panel query returns live data."""

from __future__ import annotations

import math

import pytest
from opsbook.observability import dashboard, prom, signals

pytestmark = [pytest.mark.stack, pytest.mark.slow]

PANELS = dashboard.panel_queries()


@pytest.fixture(scope="module")
def pipeline_run(live_stack):
    from opsbook.airflow import client as airflow_api

    airflow_api.wait_for_dag("pipeline_ventas", timeout_s=300)
    run_id = airflow_api.trigger_dag("pipeline_ventas", conf={"n_rows": 400,
                                                              "bad_fraction": 0.05})
    state = airflow_api.wait_for_run("pipeline_ventas", run_id, timeout_s=900)
    assert state == "success", f"pipeline_ventas terminó en {state}"
    # the success callback runs 1-2 s after the run ends: wait until Prometheus has it
    prom.wait_for('airflow_pipeline_dag_success{dag_id="pipeline_ventas"} > 0', timeout_s=120)
    return run_id


@pytest.mark.parametrize(("title", "expr"), PANELS, ids=[t for t, _ in PANELS])
def test_every_panel_query_returns_valid_samples(pipeline_run, title, expr):
    frame = prom.wait_for(expr, timeout_s=90)
    assert not frame.empty, title
    assert all(math.isfinite(v) for v in frame["value"]), f"{title}: {frame}"


def test_pipeline_values_are_plausible(pipeline_run):
    quality = prom.value('airflow_pipeline_transform_quality{dag_id="pipeline_ventas"}')
    assert quality is not None and 0 < quality <= 1
    stages = prom.query(signals.get("records_by_stage").expr)
    stages = stages[stages["dag_id"] == "pipeline_ventas"].set_index("etapa")["value"]
    assert stages["extract"] >= stages["transform"] >= 1


@pytest.mark.parametrize("rule", signals.alert_rules(), ids=lambda r: r.name)
def test_every_alert_expression_is_valid_promql(live_stack, rule):
    prom.query(rule.expr)  # raises PromQueryError on a parse or evaluation error
