"""The incident catalog is data, complete and consistent with the engine's steps."""

from pathlib import Path

import pytest
from opsbook.incidents import catalog as incidents
from opsbook.incidents.catalog import CATEGORIES, SEVERITIES, load_catalog

pytestmark = pytest.mark.unit

ALERT_TYPES = {"pipeline_down", "dag_failure", "data_corruption", "resource_contention",
               "stale_data", "db_unreachable"}


def test_four_categories_each_with_types():
    cat = incidents.catalog()
    used = {t.category for t in cat.types.values()}
    assert used == set(CATEGORIES)
    for category in CATEGORIES:
        assert sum(t.category == category for t in cat.types.values()) >= 3


def test_severity_scale_escalation_and_metric_definitions():
    cat = incidents.catalog()
    assert tuple(cat.severity_scale) == SEVERITIES
    for sev in SEVERITIES:
        assert cat.severity_scale[sev]["mtta_objetivo_min"] <= cat.severity_scale[sev][
            "mttr_objetivo_min"]
        assert cat.escalation_for(sev)["destinatarios"]
    assert {"MTTA", "MTTR"} <= set(cat.metrics)


def test_every_alert_label_of_the_rules_maps_to_a_type():
    cat = incidents.catalog()
    for label in ALERT_TYPES:
        assert cat.match({"incident_type": label}) is not None, label
    assert cat.match({"incident_type": "pipeline_down"}).key == "pipeline_down"
    assert cat.match({"incident_type": "db_unreachable"}).key == "db_unreachable"
    assert cat.match({"alertname": "PipelineHighErrorRate"}).key == "data_corruption"
    assert cat.match({"alertname": "nada", "incident_type": "nada"}) is None
    # a label that is not a type is not rescued by a known alert name
    assert cat.match({"alertname": "PipelineLoadFailed", "incident_type": "load_failure"}) is None


def test_every_step_named_in_the_catalog_exists():
    from opsbook.incidents import diagnostics, recovery

    for t in incidents.catalog().types.values():
        for name in (*t.diagnosis, *t.verify):
            assert name in diagnostics.CHECKS, f"{t.key}: check {name}"
        for name in t.recovery:
            assert name in recovery.ACTIONS, f"{t.key}: action {name}"


def test_invalid_catalog_lists_every_problem(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    text = incidents.CATALOG_FILE.read_text().replace("severity: SEV-1", "severity: SEV-9", 1)
    bad.write_text(text.replace("category: data", "category: otra", 1))
    with pytest.raises(ValueError) as err:
        load_catalog(bad)
    assert "SEV-9" in str(err.value) and "otra" in str(err.value)


def test_unknown_type_message_is_spanish():
    with pytest.raises(KeyError, match="desconocido"):
        incidents.catalog().get("no_existe")


def test_rows_for_the_notebook_table():
    rows = incidents.catalog().rows()
    assert len(rows) == len(incidents.catalog().types)
    wanted = {"categoria", "tipo", "severidad", "alerta", "diagnostico", "recuperacion"}
    assert wanted <= set(rows[0])
