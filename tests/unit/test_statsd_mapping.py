"""The mapping format (upstream semantics) and monitoring/statsd/mapping.yml itself."""

import pytest
import yaml
from opsbook.observability.catalog import METRICS
from opsbook.observability.statsd_mapping import Mapper, MappingError, parse_duration
from opsbook.settings import settings

pytestmark = pytest.mark.unit

MAPPING_FILE = settings.monitoring_dir / "statsd" / "mapping.yml"
KIND_TO_MATCH_TYPE = {"counter": "counter", "gauge": "gauge", "timer": "observer"}


@pytest.fixture(scope="module")
def project_mapper():
    return Mapper.from_file(MAPPING_FILE)


def test_mapping_covers_the_catalog_exactly():
    raw = yaml.safe_load(MAPPING_FILE.read_text())["mappings"]
    pipeline = [m for m in raw if str(m["name"]).startswith("airflow_pipeline_")]
    assert sorted(m["name"] for m in pipeline) == sorted(m.name for m in METRICS)
    by_name = {m["name"]: m for m in pipeline}
    for metric in METRICS:
        entry = by_name[metric.name]
        assert entry["match"] == metric.statsd_glob
        assert entry["labels"] == {"dag_id": "$1"}
        assert entry["match_metric_type"] == KIND_TO_MATCH_TYPE[metric.kind]
        assert entry.get("help") == metric.help


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_each_catalog_stat_resolves_to_its_name_and_dag_id(project_mapper, metric):
    kind = KIND_TO_MATCH_TYPE[metric.kind]
    stat = f"airflow.{metric.statsd_name('pipeline_ventas')}"
    resolved = project_mapper.resolve(stat, kind)
    assert resolved is not None, stat
    assert resolved.name == metric.name
    assert resolved.labels == {"dag_id": "pipeline_ventas"}
    other_kind = "gauge" if kind != "gauge" else "counter"
    assert project_mapper.resolve(stat, other_kind) is None  # wrong type stays unmapped


@pytest.mark.parametrize(
    ("stat", "kind", "name", "labels"),
    [
        ("airflow.dagrun.duration.success.etl", "observer", "airflow_dagrun_duration",
         {"dag_id": "etl", "status": "success"}),
        ("airflow.dagrun.duration.failed.etl", "observer", "airflow_dagrun_failed",
         {"dag_id": "etl", "status": "failed"}),
        ("airflow.dag.etl.load.duration", "observer", "airflow_task_duration",
         {"dag_id": "etl", "task_id": "load"}),
        ("airflow.ti.finish.etl.load.failed", "counter", "airflow_ti_finish",
         {"dag_id": "etl", "task_id": "load", "state": "failed"}),
        ("airflow.scheduler_heartbeat", "counter", "airflow_scheduler_heartbeat",
         {"type": "counter"}),
        ("airflow.pool.open_slots.default_pool", "gauge", "airflow_pool_open_slots",
         {"pool": "default_pool"}),
        ("airflow.executor.running_tasks.LocalExecutor", "gauge",
         "airflow_executor_running_tasks", {"executor": "LocalExecutor"}),
        ("airflow.dag_processing.import_errors", "gauge", "airflow_dag_processing_import_errors",
         {}),
        ("airflow.operator_failures_PythonOperator", "counter", "airflow_operator_failures",
         {"operator": "PythonOperator"}),
    ],
)
def test_airflow_helm_chart_metrics(project_mapper, stat, kind, name, labels):
    resolved = project_mapper.resolve(stat, kind)
    assert (resolved.name, resolved.labels) == (name, labels)


def test_glob_star_is_one_dot_part(project_mapper):
    assert project_mapper.resolve("airflow.pipeline.dag.success.a.b", "counter") is None
    assert project_mapper.resolve("airflow.dag.etl.extra.load.duration", "observer") is None


def make(*entries, defaults=None):
    return Mapper({"defaults": defaults or {}, "mappings": list(entries)})


def test_globs_win_over_regexes_and_first_glob_wins():
    mapper = make(
        {"match": "a\\.(.*)", "match_type": "regex", "name": "from_regex"},
        {"match": "a.*", "name": "first_glob_$1"},
        {"match": "a.b", "name": "second_glob"},
    )
    assert mapper.resolve("a.b", "counter").name == "first_glob_b"
    assert mapper.resolve("a.b.c", "counter").name == "from_regex"


def test_regex_is_unanchored_and_expands_numbered_and_named_groups():
    mapper = make({"match": r"req\.(?P<verb>\w+)\.(\d+)", "match_type": "regex",
                   "name": "http_${1}", "labels": {"code": "$2", "verb": "$verb"}})
    resolved = mapper.resolve("app.req.get.200.extra", "counter")
    assert resolved.name == "http_get"
    assert resolved.labels == {"code": "200", "verb": "get"}


def test_match_metric_type_filters():
    mapper = make({"match": "x.*", "name": "x_gauge", "match_metric_type": "gauge"},
                  {"match": "x.*", "name": "x_any"})
    assert mapper.resolve("x.a", "gauge").name == "x_gauge"
    assert mapper.resolve("x.a", "counter").name == "x_any"


def test_observer_type_defaults_and_deprecated_timer_type():
    mapper = make({"match": "h.*", "name": "h", "timer_type": "histogram",
                   "histogram_options": {"buckets": [1, 0.1]}},
                  {"match": "s.*", "name": "s"},
                  defaults={"summary_options": {"max_age": "30s"}})
    h, s = mapper.mappings
    assert (h.observer_type, h.buckets) == ("histogram", (0.1, 1.0))
    assert (s.observer_type, s.max_age_s) == ("", 30.0)
    assert [q for q, _ in s.quantiles] == [0.5, 0.9, 0.99]


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"match": "a.b*", "name": "x"}, "glob inválido"),
        ({"match": "a.*"}, "falta 'name'"),
        ({"match": "a.*", "name": "bad-name"}, "nombre de métrica inválido"),
        ({"match": "a.*", "name": "x_${named}"}, "nombre de métrica inválido"),  # upstream too
        ({"match": "a.*", "name": "x", "labels": {"1bad": "v"}}, "etiqueta inválido"),
        ({"match": "a.*", "name": "x", "action": "explode"}, "action"),
        ({"match": "(", "match_type": "regex", "name": "x"}, "expresión regular"),
        ({"match": "a.*", "name": "x", "observer_type": "histogram",
          "summary_options": {"max_age": "1m"}}, "histogram no admite"),
    ],
)
def test_invalid_entries_raise_spanish_errors(entry, fragment):
    with pytest.raises(MappingError, match=fragment):
        make(entry)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(MappingError, match="no puedo leer"):
        Mapper.from_file(tmp_path / "nope.yml")


def test_go_durations():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("250ms") == pytest.approx(0.25)
    with pytest.raises(MappingError):
        parse_duration("ten minutes")
