"""The Grafana dashboard of the course, generated from the signals catalog.

Why this module exists: a dashboard edited by hand in Grafana drifts from the alerts and the
notebook charts. Here every panel is built from :data:`opsbook.observability.signals.SIGNALS` with
``grafana-foundation-sdk`` (dashboard as code), written to
``monitoring/grafana/dashboards/pipeline.json`` and provisioned into the compose Grafana. A
unit test regenerates it and fails when the committed file differs.

The panels read a datasource variable (``${datasource}``, any Prometheus) instead of a fixed
uid, so the same JSON works in every Grafana.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import bargauge, gauge, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from opsbook.observability import signals
from opsbook.settings import settings

UID = "opsbook-pipeline"
TITLE = "Semana 4 · pipeline_ventas: operación"
DS_VAR = "datasource"
WIDTH = {"stat": 6, "gauge": 6, "bargauge": 12, "timeseries": 12}
HEIGHT = 8
ROWS = {"pipeline": "Pipeline (métricas del curso)", "airflow": "Salud de Airflow"}

_BUILDERS = {
    "stat": stat.Panel,
    "gauge": gauge.Panel,
    "bargauge": bargauge.Panel,
    "timeseries": timeseries.Panel,
}


def output_path() -> Path:
    """Where the generated dashboard JSON lives (provisioned by the compose Grafana)."""
    return settings.monitoring_dir / "grafana" / "dashboards" / "pipeline.json"


def _panel(sig: signals.Signal, panel_id: int) -> Any:
    datasource = DataSourceRef(type_val="prometheus", uid=f"${{{DS_VAR}}}")
    query = (
        prom.Dataquery()
        .expr(sig.expr)
        .legend_format(sig.legend)
        .ref_id("A")
        .datasource(datasource)
    )
    query = query.range() if sig.panel == "timeseries" else query.instant()
    panel = (
        _BUILDERS[sig.panel]()
        .id(panel_id)
        .title(sig.title)
        .description(sig.description)
        .datasource(datasource)
        .unit(sig.grafana_unit)
        .span(WIDTH[sig.panel])
        .height(HEIGHT)
        .with_target(query)
    )
    if sig.unit == "ratio":
        panel = panel.min(0).max(1)
    return panel


def build() -> dict[str, Any]:
    """Build the dashboard model from the signals.

    Returns:
        The dashboard as plain JSON-ready data (what Grafana imports).
    """
    builder = (
        dash.Dashboard(TITLE)
        .uid(UID)
        .tags(["opsbook", "airflow", "semana-4"])
        .description("Generado por `opsbook dashboard` desde opsbook.observability.signals; "
                     "no editar a mano.")
        .refresh("10s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(
            dash.DatasourceVariable(DS_VAR).label("Fuente de datos").type("prometheus")
        )
    )
    panel_id = 1
    for row_index, (group, row_title) in enumerate(ROWS.items()):
        builder = builder.with_row(dash.Row(row_title).id(100 + row_index))
        for sig in signals.SIGNALS:
            if sig.group == group:
                builder = builder.with_panel(_panel(sig, panel_id))
                panel_id += 1
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))


def render() -> str:
    """Serialise :func:`build` exactly as committed (sorted keys, 2-space indent, newline)."""
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path | None = None) -> Path:
    """Regenerate the dashboard file.

    Args:
        path: destination (default :func:`output_path`).

    Returns:
        The written path.
    """
    path = path or output_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


def panel_queries(model: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """List ``(panel title, expression)`` of every panel of a dashboard model.

    Args:
        model: a dashboard dict (default: the committed JSON file).
    """
    if model is None:
        model = json.loads(output_path().read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"])
        for panel in model["panels"]
        for target in panel.get("targets", [])
    ]
