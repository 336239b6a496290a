"""The 14 pipeline metrics of the course, defined once.

Why this module exists: the DAG emits these metrics, the StatsD mapping translates them, the
dashboard draws them, the alert rules watch them and the tests look for them. Every one of
those reads this catalog, so a name can never drift between them (docs/convenciones.md →
Métricas del pipeline).

StatsD naming: task code sends ``<statsd_stem>.<dag_id>`` (Airflow adds the ``airflow.``
prefix), e.g. ``airflow.pipeline.extract.records.pipeline_ventas``; the mapping turns it into
the Prometheus name with a ``dag_id`` label. Timers are sent in milliseconds and exposed in
seconds (summary), so ``<name>_sum`` / ``<name>_count`` exist besides the quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["counter", "gauge", "timer"]

STATSD_PREFIX = "airflow"
"""Prefix Airflow's StatsD client puts in front of every stat (``[metrics] statsd_prefix``)."""


@dataclass(frozen=True)
class Metric:
    """One pipeline metric.

    Attributes:
        name: exact Prometheus name (``airflow_pipeline_*``).
        kind: ``counter``, ``gauge`` or ``timer`` (StatsD type ``c``, ``g``, ``ms``).
        unit: unit in Prometheus (timers: seconds).
        help: one-line English description (Prometheus HELP).
        title: Spanish title for charts and tables.
        component: pipeline stage the metric belongs to (``dag``, ``extract``, ...).
        labels: Prometheus labels the mapping attaches.
    """

    name: str
    kind: MetricKind
    unit: str
    help: str
    title: str
    component: str
    labels: tuple[str, ...] = ("dag_id",)

    @property
    def statsd_stem(self) -> str:
        """StatsD stat name without prefix and dag id, e.g. ``pipeline.extract.records``."""
        rest = self.name.removeprefix(f"{STATSD_PREFIX}_pipeline_")
        component, _, measure = rest.partition("_")
        return f"pipeline.{component}.{measure}"

    def statsd_name(self, dag_id: str) -> str:
        """Stat name the task code passes to ``stats.incr/gauge/timing``."""
        return f"{self.statsd_stem}.{dag_id}"

    @property
    def statsd_glob(self) -> str:
        """Glob of the StatsD mapping line (``$1`` is the dag id)."""
        return f"{STATSD_PREFIX}.{self.statsd_stem}.*"

    @property
    def statsd_type(self) -> str:
        """StatsD wire type (``c``, ``g`` or ``ms``)."""
        return {"counter": "c", "gauge": "g", "timer": "ms"}[self.kind]


METRICS: tuple[Metric, ...] = (
    Metric("airflow_pipeline_dag_success", "counter", "runs", "Successful runs of the DAG.",
           "Ejecuciones exitosas del DAG", "dag"),
    Metric("airflow_pipeline_dag_failure", "counter", "runs", "Failed runs of the DAG.",
           "Ejecuciones fallidas del DAG", "dag"),
    Metric("airflow_pipeline_dag_duration", "timer", "seconds", "Wall time of a DAG run.",
           "Duración de la ejecución del DAG", "dag"),
    Metric("airflow_pipeline_extract_records", "counter", "records",
           "Records read from the landing file.", "Registros extraídos", "extract"),
    Metric("airflow_pipeline_extract_duration", "timer", "seconds", "Time spent extracting.",
           "Duración de la extracción", "extract"),
    Metric("airflow_pipeline_extract_errors", "counter", "errors",
           "Extraction failures (missing or unreadable file).", "Errores de extracción",
           "extract"),
    Metric("airflow_pipeline_transform_quality", "gauge", "ratio",
           "Valid rows / total rows of the last transform (0..1).",
           "Calidad de datos (válidos / total)", "transform"),
    Metric("airflow_pipeline_transform_output_records", "counter", "records",
           "Valid, deduplicated rows produced by transform.", "Registros transformados",
           "transform"),
    Metric("airflow_pipeline_transform_errors", "counter", "records",
           "Rows quarantined by validation.", "Registros en cuarentena", "transform"),
    Metric("airflow_pipeline_load_records_loaded", "counter", "records",
           "Rows written to the warehouse.", "Registros cargados", "load"),
    Metric("airflow_pipeline_load_duration", "timer", "seconds", "Time spent loading.",
           "Duración de la carga", "load"),
    Metric("airflow_pipeline_load_throughput", "gauge", "records_per_second",
           "Rows per second of the last load.", "Rendimiento de carga (registros/s)", "load"),
    Metric("airflow_pipeline_load_errors", "counter", "errors",
           "Load failures (warehouse unreachable, transaction rolled back).",
           "Errores de carga", "load"),
    Metric("airflow_pipeline_sla_violations", "counter", "violations",
           "Deadline (SLA) misses reported by the DeadlineAlert callback.",
           "Violaciones de SLA (deadline)", "sla"),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


def get(name: str) -> Metric:
    """Return the metric called ``name`` (full Prometheus name or without ``airflow_pipeline_``).

    Args:
        name: ``airflow_pipeline_load_errors`` or ``load_errors``.

    Raises:
        KeyError: with the list of known names when ``name`` is not in the catalog.
    """
    full = name if name.startswith("airflow_pipeline_") else f"airflow_pipeline_{name}"
    try:
        return BY_NAME[full]
    except KeyError:
        raise KeyError(f"métrica desconocida {name!r}; conocidas: {sorted(BY_NAME)}") from None
