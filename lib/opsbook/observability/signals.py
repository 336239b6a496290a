"""Every PromQL expression opsbook shows, defined once.

Why this module exists: the Grafana dashboard, the notebook charts, the live tests and the
benchmarks must show the *same* numbers. Each dashboard signal (id, Spanish title, unit,
expression, panel kind) is written here and only here (docs/convenciones.md → Señales). Alert
expressions live in ``monitoring/prometheus/rules/*.yml`` (Prometheus reads them there, with
their comments and promtool tests); :func:`alert_rules` exposes them to Python so nothing is
copied.

Metric names come from :mod:`opsbook.observability.catalog` (the 14 pipeline metrics, label
``dag_id``) and
from the Airflow Helm chart names of ``monitoring/statsd/mapping.yml``
(``airflow_scheduler_heartbeat``, ``airflow_task_duration``, ``airflow_dagrun_duration``,
``airflow_dagrun_failed``, ``airflow_dag_processing_import_errors``). Timers are summaries, so
averages are ``_sum / _count``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from opsbook.observability import catalog
from opsbook.settings import settings

PanelKind = Literal["stat", "timeseries", "gauge", "bargauge"]
SignalGroup = Literal["pipeline", "airflow", "host"]

GRAFANA_UNITS = {
    "seconds": "s",
    "ratio": "percentunit",
    "records_per_second": "suffix: reg/s",
    "per_minute": "suffix: /min",
}
"""Grafana unit id per signal unit (anything else is shown as a plain number)."""


@dataclass(frozen=True)
class Signal:
    """One dashboard panel / notebook chart.

    Attributes:
        id: stable snake_case identifier.
        title: Spanish title (panel title, chart title).
        unit: unit of the values (``runs``, ``seconds``, ``records``, ``ratio`` ...).
        expr: the PromQL expression (instant or range).
        panel: Grafana panel kind.
        legend: legend template (Grafana syntax, ``{{label}}``).
        group: ``pipeline`` (course metrics), ``airflow`` (core health) or ``host`` (node
            exporter: the machine and supervisord's view of each program).
        description: Spanish one-liner shown as panel description.
    """

    id: str
    title: str
    unit: str
    expr: str
    panel: PanelKind
    legend: str = "{{dag_id}}"
    group: SignalGroup = "pipeline"
    description: str = ""

    @property
    def grafana_unit(self) -> str:
        """Unit id for Grafana's field config."""
        return GRAFANA_UNITS.get(self.unit, "short")

    @property
    def metrics(self) -> set[str]:
        """Metric names the expression reads (``_sum``/``_count`` suffixes removed)."""
        return metric_names(self.expr)


def _avg(metric: str, by: str = "dag_id") -> str:
    return f"sum by ({by}) ({metric}_sum) / sum by ({by}) ({metric}_count)"


def _tagged(parts: dict[str, str], label: str) -> str:
    """``or`` of several expressions, each tagged with ``label="<key>"`` (one legend entry each)."""
    return "\nor ".join(
        f'label_replace({expr}, "{label}", "{key}", "", "")' for key, expr in parts.items()
    )


def _or_zero(expr: str) -> str:
    """``expr``, or 0 for every DAG that has run (counters not yet born read as 0, not empty)."""
    return f"({expr})\nor sum by (dag_id) (airflow_pipeline_dag_duration_count) * 0"


SIGNALS: tuple[Signal, ...] = (
    Signal("dag_success", "Ejecuciones exitosas del DAG", "runs",
           _or_zero("sum by (dag_id) (airflow_pipeline_dag_success)"), "stat",
           description="Contador acumulado de ejecuciones terminadas con éxito."),
    Signal("dag_failure", "Ejecuciones fallidas del DAG", "runs",
           _or_zero("sum by (dag_id) (airflow_pipeline_dag_failure)"), "stat",
           description="Contador acumulado de ejecuciones fallidas."),
    Signal("dag_failure_ratio", "Proporción de ejecuciones fallidas", "ratio",
           "sum by (dag_id) (airflow_pipeline_dag_failure)\n/ clamp_min(sum by (dag_id) "
           "(airflow_pipeline_dag_failure) + sum by (dag_id) (airflow_pipeline_dag_success), 1)",
           "gauge", description="Fallidas / (exitosas + fallidas) desde que existe la serie."),
    Signal("dag_duration_avg", "Tiempo promedio de procesamiento del DAG", "seconds",
           _avg("airflow_pipeline_dag_duration"), "timeseries",
           description="Duración media de una ejecución completa (extract → load)."),
    Signal("stage_duration_avg", "Duración promedio por etapa", "seconds",
           _tagged({"extract": _avg("airflow_pipeline_extract_duration"),
                    "load": _avg("airflow_pipeline_load_duration")}, "etapa"),
           "timeseries", legend="{{etapa}}",
           description="Duración media de la extracción y de la carga."),
    Signal("records_by_stage", "Registros por etapa", "records",
           _tagged({"extract": "sum by (dag_id) (airflow_pipeline_extract_records)",
                    "transform": "sum by (dag_id) (airflow_pipeline_transform_output_records)",
                    "load": "sum by (dag_id) (airflow_pipeline_load_records_loaded)"}, "etapa"),
           "bargauge", legend="{{etapa}}",
           description="Registros acumulados leídos, transformados y cargados."),
    Signal("load_throughput", "Rendimiento de carga", "records_per_second",
           "max by (dag_id) (airflow_pipeline_load_throughput)", "timeseries",
           description="Filas por segundo de la última carga."),
    Signal("transform_quality", "Calidad de transformación (válidos / total)", "ratio",
           "min by (dag_id) (airflow_pipeline_transform_quality)", "gauge",
           description="Proporción de filas válidas de la última transformación."),
    Signal("errors_by_component", "Errores por componente", "errors",
           _tagged({"extract": "sum by (dag_id) (airflow_pipeline_extract_errors)",
                    "transform": "sum by (dag_id) (airflow_pipeline_transform_errors)",
                    "load": "sum by (dag_id) (airflow_pipeline_load_errors)"}, "componente"),
           "bargauge", legend="{{componente}}",
           description="extract/load: fallos de la tarea; transform: filas en cuarentena."),
    Signal("sla_violations", "Violaciones de SLA (deadline)", "violations",
           _or_zero("sum by (dag_id) (airflow_pipeline_sla_violations)"), "stat",
           description="Deadlines incumplidos (DeadlineAlert de Airflow 3)."),
    Signal("scheduler_heartbeat_rate", "Latidos del scheduler por minuto", "per_minute",
           "sum(rate(airflow_scheduler_heartbeat[1m])) * 60", "timeseries",
           legend="scheduler", group="airflow",
           description="Cae a 0 cuando el scheduler se detiene (alerta AirflowSchedulerDown)."),
    Signal("task_duration_avg", "Duración promedio de tareas", "seconds",
           _avg("airflow_task_duration", by="dag_id, task_id"), "timeseries",
           legend="{{dag_id}}.{{task_id}}", group="airflow",
           description="Duración media de cada tarea según Airflow."),
    Signal("dagrun_duration_avg", "Duración de ejecuciones exitosas (Airflow)", "seconds",
           _avg("airflow_dagrun_duration"), "timeseries", group="airflow",
           description="dagrun.duration.success medido por el propio Airflow."),
    Signal("dagrun_failed", "Ejecuciones fallidas (Airflow)", "runs",
           "sum by (dag_id) (airflow_dagrun_failed_count)\n"
           "or sum by (dag_id) (airflow_dagrun_duration_count) * 0", "stat", group="airflow",
           description="dagrun.duration.failed contado por Airflow (0 si aún no hubo fallos)."),
    Signal("import_errors", "Errores de importación de DAGs", "files",
           "max(airflow_dag_processing_import_errors)", "stat", legend="dag-processor",
           group="airflow",
           description="Archivos de DAG que no se pudieron importar (dag-processor)."),
)

HOST_SIGNALS: tuple[Signal, ...] = (
    Signal("host_cpu_busy", "CPU ocupada de la máquina", "ratio",
           '1 - avg(rate(node_cpu_seconds_total{job="node",mode="idle"}[2m]))', "timeseries",
           legend="cpu", group="host",
           description="Fracción de tiempo de CPU no ociosa (todas las CPU, media de 2 min)."),
    Signal("host_memory_used", "Memoria usada de la máquina", "ratio",
           '1 - node_memory_MemAvailable_bytes{job="node"}'
           ' / node_memory_MemTotal_bytes{job="node"}', "timeseries", legend="memoria",
           group="host", description="1 - MemAvailable / MemTotal."),
    Signal("host_disk_used", "Disco usado por sistema de ficheros", "ratio",
           '(1 - node_filesystem_avail_bytes{job="node"} / node_filesystem_size_bytes{job="node"})'
           '\nunless on (instance, device, mountpoint) node_filesystem_readonly{job="node"} == 1',
           "bargauge", legend="{{mountpoint}}", group="host",
           description="Espacio ocupado de cada sistema de ficheros escribible."),
    Signal("api_server_state", "Estado del proceso api-server (supervisord)", "state",
           'max by (name) (node_supervisord_state{job="node",name="api-server"})', "stat",
           legend="{{name}}", group="host",
           description="Código de estado de supervisord: 20 RUNNING, 0 STOPPED (a propósito), "
                       "30 BACKOFF, 100 EXITED, 200 FATAL."),
)
"""Host signals (node exporter). Not dashboard panels (the compose stack has no node
exporter); the resource rules and ``AirflowApiDown`` embed these expressions verbatim
(``tests/unit/test_catalog_rules.py`` checks it)."""

BY_ID: dict[str, Signal] = {s.id: s for s in SIGNALS + HOST_SIGNALS}

_NAME = re.compile(r"\b(airflow_[a-z0-9_]+)\b")


def metric_names(expr: str) -> set[str]:
    """Return the metric names an expression reads (summary suffixes removed).

    Args:
        expr: a PromQL expression.
    """
    return {re.sub(r"_(sum|count|bucket)$", "", name) for name in _NAME.findall(expr)}


def get(signal_id: str) -> Signal:
    """Return the signal ``signal_id``.

    Raises:
        KeyError: naming the known ids.
    """
    try:
        return BY_ID[signal_id]
    except KeyError:
        raise KeyError(f"señal desconocida {signal_id!r}; conocidas: {sorted(BY_ID)}") from None


def rule_uses(rule_expr: str, signal_id: str) -> bool:
    """Whether an alert expression embeds a signal's PromQL verbatim (whitespace-insensitive).

    Args:
        rule_expr: expression of an alerting rule.
        signal_id: id of a signal of :data:`SIGNALS` or :data:`HOST_SIGNALS`.
    """
    def flat(text: str) -> str:
        return " ".join(text.split())
    return flat(get(signal_id).expr) in flat(rule_expr)


def covered_metrics() -> set[str]:
    """Catalog metrics (of the 14) that at least one signal reads."""
    used = set().union(*(s.metrics for s in SIGNALS))
    return {m.name for m in catalog.METRICS} & used


def metric_series(metric: str, dag_id: str) -> str:
    """Expression selecting one pipeline metric of one DAG (probes and benchmarks).

    Args:
        metric: catalog name (``load_errors`` or the full Prometheus name).
        dag_id: value of the ``dag_id`` label.
    """
    m = catalog.get(metric)
    suffix = "_count" if m.kind == "timer" else ""
    return f'{m.name}{suffix}{{dag_id="{dag_id}"}}'


def alert_state(alertname: str) -> str:
    """Expression of Prometheus's ``ALERTS`` series of one alert (pending and firing)."""
    return f'ALERTS{{alertname="{alertname}"}}'


def alert_samples(alertname: str, window_s: int, match: dict[str, str] | None = None) -> str:
    """Range selector of the raw ``ALERTS`` samples of one alert (one per rule evaluation).

    Args:
        alertname: alert name.
        window_s: seconds back from now.
        match: extra labels that must match (e.g. ``{"dag_id": "pipeline_ventas"}``).
    """
    labels = [f'alertname="{alertname}"', *(f'{k}="{v}"' for k, v in (match or {}).items())]
    return f"ALERTS{{{','.join(labels)}}}[{int(window_s)}s]"


BRIDGE_JOB = "statsd-bridge"
"""Scrape job of the StatsD bridge (same name as prom/statsd-exporter's in the compose file)."""
NODE_JOB = "node"
"""Scrape job of the node exporter (host CPU, memory, disk; supervisord program states)."""


def last_scrape(job: str = BRIDGE_JOB) -> str:
    """Unix time of the latest scrape of a job (the timestamp of its ``up`` sample)."""
    return f'timestamp(up{{job="{job}"}})'


# ---- alert rules (read from the rule files, never copied) ---------------------------------


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule of ``monitoring/prometheus/rules``.

    Attributes:
        name: alert name.
        expr: PromQL expression.
        for_s: ``for`` duration in seconds.
        severity: ``warning`` or ``critical``.
        incident_type: day 3 incident type (``dag_failure``, ``pipeline_down`` ...).
        group: rule group name.
        labels: every static label.
        annotations: summary / description templates.
    """

    name: str
    expr: str
    for_s: float
    severity: str
    incident_type: str
    group: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def _seconds(duration: str | None) -> float:
    if not duration:
        return 0.0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", duration):
        total += float(value) * units[unit]
    return total


def rules_dir() -> Path:
    """Folder of the Prometheus rule files."""
    return settings.monitoring_dir / "prometheus" / "rules"


def alert_rules() -> list[AlertRule]:
    """Every alerting rule of the project, in file order."""
    rules: list[AlertRule] = []
    for path in sorted(rules_dir().glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for raw in group["rules"]:
                if "alert" not in raw:
                    continue
                labels = {k: str(v) for k, v in raw.get("labels", {}).items()}
                rules.append(AlertRule(
                    name=raw["alert"], expr=raw["expr"].strip(), for_s=_seconds(raw.get("for")),
                    severity=labels.get("severity", ""),
                    incident_type=labels.get("incident_type", ""), group=group["name"],
                    labels=labels, annotations=dict(raw.get("annotations", {}))))
    return rules


def alert_rule(name: str) -> AlertRule:
    """Return the alerting rule called ``name``.

    Raises:
        KeyError: naming the known alerts.
    """
    rules = {r.name: r for r in alert_rules()}
    try:
        return rules[name]
    except KeyError:
        raise KeyError(f"alerta desconocida {name!r}; conocidas: {sorted(rules)}") from None
