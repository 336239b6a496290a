"""The Grafana dashboard is code: reproducible from opsbook.observability.signals and consistent
with it."""

from __future__ import annotations

import importlib.metadata
import json

import pytest
import yaml
from opsbook.observability import catalog, dashboard, signals
from opsbook.settings import settings

pytestmark = pytest.mark.unit


def test_committed_dashboard_is_regenerated_identically():
    path = dashboard.output_path()
    assert path.exists(), "falta pipeline.json: ejecuta 'opsbook dashboard'"
    assert path.read_text(encoding="utf-8") == dashboard.render(), (
        "pipeline.json difiere de lo generado: ejecuta 'opsbook dashboard' y confírmalo")


def test_sdk_is_a_current_grafana_build():
    version = importlib.metadata.version("grafana-foundation-sdk")
    epoch, _, grafana = version.partition("!")
    assert epoch and int(grafana.split(".")[0]) >= 11, version


def test_every_panel_has_id_refid_and_datasource_variable():
    model = json.loads(dashboard.output_path().read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables[dashboard.DS_VAR]["type"] == "datasource"
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids)), "ids de panel repetidos"
    panels = [p for p in model["panels"] if p["type"] != "row"]
    assert len(panels) == len(signals.SIGNALS)
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["refId"] == "A"
            assert target["datasource"]["uid"] == f"${{{dashboard.DS_VAR}}}"


def test_panels_show_exactly_the_signals():
    assert dashboard.panel_queries() == [(s.title, s.expr) for s in signals.SIGNALS]


def test_signals_cover_the_14_catalog_metrics():
    assert signals.covered_metrics() == {m.name for m in catalog.METRICS}


def test_signals_read_only_known_metric_names():
    known = {m.name for m in catalog.METRICS}
    mapping = settings.monitoring_dir / "statsd" / "mapping.yml"
    if mapping.exists():
        known |= {m["name"] for m in yaml.safe_load(mapping.read_text())["mappings"]
                  if "name" in m}
    known.add("airflow_dag_processing_import_errors")  # unmapped gauge: default escaping
    for sig in signals.SIGNALS:
        unknown = sig.metrics - known
        if not mapping.exists():
            unknown = {n for n in unknown if n.startswith("airflow_pipeline_")}
        assert not unknown, f"{sig.id} usa métricas desconocidas {unknown}"
    for rule in signals.alert_rules():
        unknown = signals.metric_names(rule.expr) - known
        if not mapping.exists():
            unknown = {n for n in unknown if n.startswith("airflow_pipeline_")}
        assert not unknown, f"{rule.name} usa métricas desconocidas {unknown}"


def test_signal_ids_unique_and_titles_spanish_and_units_set():
    assert len(signals.BY_ID) == len(signals.SIGNALS) + len(signals.HOST_SIGNALS)
    for sig in signals.SIGNALS + signals.HOST_SIGNALS:
        assert sig.title and sig.unit and sig.expr
    with pytest.raises(KeyError, match="señal desconocida"):
        signals.get("no_existe")
