"""The StatsD bridge turns an Airflow-like packet stream into the expected exposition."""

import math
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
import yaml
from opsbook.observability.statsd_bridge import Bridge
from opsbook.observability.statsd_mapping import Mapper
from opsbook.settings import settings
from opsbook.waiting import WaitTimeout, wait_until
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.unit

MAPPING_FILE = settings.monitoring_dir / "statsd" / "mapping.yml"

# What Airflow 3.3 + pipeline_ventas send during two runs (one ok, one failed), several
# metrics per datagram as a batching client would, plus garbage that must not break anything.
AIRFLOW_STREAM = [
    b"airflow.scheduler_heartbeat:1|c\nairflow.scheduler_heartbeat:1|c",
    b"airflow.pool.open_slots.default_pool:128|g\nairflow.executor.open_slots.LocalExecutor:4|g",
    b"airflow.ti.start.pipeline_ventas.extract:1|c",
    b"airflow.pipeline.extract.records.pipeline_ventas:1000|c\n"
    b"airflow.pipeline.extract.duration.pipeline_ventas:250|ms",
    b"airflow.pipeline.transform.quality.pipeline_ventas:0.95|g\n"
    b"airflow.pipeline.transform.output_records.pipeline_ventas:950|c\n"
    b"airflow.pipeline.transform.errors.pipeline_ventas:50|c",
    b"airflow.pipeline.load.records_loaded.pipeline_ventas:950|c\n"
    b"airflow.pipeline.load.duration.pipeline_ventas:1500|ms\n"
    b"airflow.pipeline.load.throughput.pipeline_ventas:633.3|g",
    b"airflow.dag.pipeline_ventas.load.duration:1700|ms",
    b"airflow.ti.finish.pipeline_ventas.load.success:1|c",
    b"airflow.pipeline.dag.success.pipeline_ventas:1|c\n"
    b"airflow.pipeline.dag.duration.pipeline_ventas:4000|ms",
    b"airflow.dagrun.duration.success.pipeline_ventas:4200|ms",
    # second run fails at load
    b"airflow.pipeline.extract.records.pipeline_ventas:1000|c",
    b"airflow.pipeline.load.errors.pipeline_ventas:1|c\n"
    b"airflow.ti.finish.pipeline_ventas.load.failed:1|c",
    b"airflow.pipeline.dag.failure.pipeline_ventas:1|c",
    b"airflow.dagrun.duration.failed.pipeline_ventas:3000|ms",
    b"airflow.dag_processing.import_errors:0|g\nairflow.dag_processing.import_errors:+2|g",
    b"airflow.scheduler_heartbeat:1|c",
    # garbage and edge cases
    b"this is not statsd\n\xff\xfe:1|c\nairflow.pipeline.dag.success.pipeline_ventas:-1|c",
    b"airflow.pipeline.dag.success.pipeline_ventas:oops|c",
    b"custom.web-hits:1|c|@0.5|#env:dev",
]


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams, name, suffix="", **labels):
    family = fams[name]
    matches = [s.value for s in family.samples
               if s.name in (name + suffix, name + "_total" if not suffix else "")
               and all(s.labels.get(k) == v for k, v in labels.items())
               and (suffix or "quantile" in labels or "quantile" not in s.labels)]
    assert len(matches) == 1, (name, suffix, labels, family.samples)
    return matches[0]


@pytest.fixture
def exposition():
    bridge = Bridge(Mapper.from_file(MAPPING_FILE))
    for packet in AIRFLOW_STREAM:
        bridge.ingest(packet)
    return families(bridge.render().decode())


def test_pipeline_counters_and_gauges(exposition):
    fams, dag = exposition, {"dag_id": "pipeline_ventas"}
    assert fams["airflow_pipeline_extract_records"].type == "counter"
    assert value(fams, "airflow_pipeline_extract_records", **dag) == 2000
    assert value(fams, "airflow_pipeline_dag_success", **dag) == 1
    assert value(fams, "airflow_pipeline_dag_failure", **dag) == 1
    assert value(fams, "airflow_pipeline_load_errors", **dag) == 1
    assert value(fams, "airflow_pipeline_transform_quality", **dag) == pytest.approx(0.95)
    assert value(fams, "airflow_pipeline_load_throughput", **dag) == pytest.approx(633.3)


def test_timers_are_summaries_in_seconds_with_bare_name(exposition):
    fams, dag = exposition, {"dag_id": "pipeline_ventas"}
    family = fams["airflow_pipeline_load_duration"]
    assert family.type == "summary"
    quantiles = {s.labels["quantile"] for s in family.samples if s.name == family.name}
    assert quantiles == {"0.5", "0.9", "0.99"}
    assert value(fams, "airflow_pipeline_load_duration", quantile="0.5", **dag) == 1.5
    assert value(fams, "airflow_pipeline_load_duration", "_sum", **dag) == pytest.approx(1.5)
    assert value(fams, "airflow_pipeline_load_duration", "_count", **dag) == 1
    assert value(fams, "airflow_task_duration", "_sum", dag_id="pipeline_ventas",
                 task_id="load") == pytest.approx(1.7)


def test_airflow_metrics_and_failed_runs_counted_by_count(exposition):
    fams = exposition
    assert value(fams, "airflow_scheduler_heartbeat", type="counter") == 3
    assert value(fams, "airflow_dagrun_duration", "_count", dag_id="pipeline_ventas",
                 status="success") == 1
    assert value(fams, "airflow_dagrun_failed", "_count", dag_id="pipeline_ventas",
                 status="failed") == 1
    assert value(fams, "airflow_ti_finish", dag_id="pipeline_ventas", task_id="load",
                 state="failed") == 1
    assert value(fams, "airflow_pool_open_slots", pool="default_pool") == 128
    assert value(fams, "airflow_dag_processing_import_errors") == 2  # 0 then +2


def test_unmapped_metric_keeps_escaped_name_rate_and_tags(exposition):
    assert value(exposition, "custom_web_hits", env="dev") == 2  # 1 at @0.5


def test_malformed_and_rejected_lines_are_counted(exposition):
    fams = exposition
    assert value(fams, "statsd_bridge_lines", outcome="malformed") == 3
    assert value(fams, "statsd_bridge_lines", outcome="rejected") == 1  # negative counter
    assert value(fams, "statsd_bridge_events_error", reason="illegal_negative_counter") == 1
    assert value(fams, "statsd_bridge_sample_errors", reason="malformed_value") == 1
    total_lines = sum(p.count(b"\n") + 1 for p in AIRFLOW_STREAM)
    outcomes = sum(s.value for s in fams["statsd_bridge_lines"].samples)
    assert outcomes == total_lines


def test_fast_path_gives_the_same_numbers_as_the_first_parse():
    bridge = Bridge(Mapper.from_file(MAPPING_FILE))
    lines = [b"airflow.pipeline.load.duration.d:1234|ms", b"q.g:5|g", b"q.g:-2|g",
             b"airflow.pipeline.extract.records.d:3|c"]
    for _ in range(3):
        for line in lines:
            bridge.ingest(line)
    fams = families(bridge.render().decode())
    assert value(fams, "airflow_pipeline_load_duration", "_sum", dag_id="d") == \
        pytest.approx(3 * 1.234)
    assert value(fams, "q_g") == 3  # set 5, delta -2, three times: ends at 3
    assert value(fams, "airflow_pipeline_extract_records", dag_id="d") == 9
    assert value(fams, "statsd_bridge_lines", outcome="ok") == 12


def test_histogram_drop_and_type_conflict(tmp_path):
    mapping = tmp_path / "m.yml"
    mapping.write_text(yaml.safe_dump({"mappings": [
        {"match": "lat.*", "name": "latency_seconds", "observer_type": "histogram",
         "histogram_options": {"buckets": [0.1, 1]}, "labels": {"svc": "$1"}},
        {"match": "noise.*", "name": "dropped", "action": "drop"},
    ]}))
    bridge = Bridge(Mapper.from_file(mapping))
    bridge.ingest(b"lat.api:50|ms\nlat.api:500|ms\nlat.api:5000|ms\nnoise.x:1|c\nnoise.x:1|c")
    bridge.ingest(b"latency_seconds:1|c")  # same name, other type: conflict
    fams = families(bridge.render().decode())
    assert fams["latency_seconds"].type == "histogram"
    buckets = {s.labels["le"]: s.value for s in fams["latency_seconds"].samples
               if s.name == "latency_seconds_bucket"}
    assert buckets == {"0.1": 1, "1.0": 2, "+Inf": 3}
    assert "dropped" not in fams
    assert value(fams, "statsd_bridge_lines", outcome="dropped") == 2
    assert value(fams, "statsd_bridge_events_conflict", type="counter") == 1


def test_empty_summary_window_gives_nan_quantiles():
    bridge = Bridge(Mapper({"mappings": [{"match": "t.*", "name": "t",
                                          "summary_options": {"max_age": "1s"}}]}))
    bridge.ingest(b"t.a:100|ms", now=time.time() - 5)
    fams = families(bridge.render().decode())
    assert math.isnan(value(fams, "t", quantile="0.5"))
    assert value(fams, "t", "_count") == 1


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_until(url, predicate, timeout_s=20.0):
    def scraped():
        last = families(httpx.get(url, timeout=2).text)
        return last if predicate(last) else None

    try:
        return wait_until(scraped, timeout_s, 0.1, "el puente llegue al estado esperado",
                          retry_on=(httpx.HTTPError, KeyError, AssertionError))
    except WaitTimeout as exc:
        raise AssertionError(str(exc)) from None


def test_live_udp_http_and_sighup_reload(tmp_path):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(MAPPING_FILE.read_text())
    udp, web = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    env = {**os.environ, "PYTHONPATH": str(settings.root / "lib")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbook.observability.statsd_bridge", "--udp-port", str(udp),
         "--web-port",
         str(web), "--mapping-config", str(mapping)], env=env, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{web}/metrics"
    try:
        scrape_until(url, lambda f: "statsd_bridge_lines" in f)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for packet in AIRFLOW_STREAM:
            sock.sendto(packet, ("127.0.0.1", udp))
        fams = scrape_until(url, lambda f: value(f, "airflow_scheduler_heartbeat",
                                                 type="counter") == 3)
        assert value(fams, "airflow_pipeline_extract_records", dag_id="pipeline_ventas") == 2000
        mapping.write_text("mappings:\n  - match: custom.*\n    name: renamed_$1\n")
        proc.send_signal(signal.SIGHUP)  # applied within the bridge's 1 s housekeeping tick
        def renamed():
            sock.sendto(b"custom.hits:1|c", ("127.0.0.1", udp))
            return scrape_until(url, lambda f: "statsd_bridge_config_reloads" in f)

        fams = wait_until(renamed, 20, 0.2, "el puente aplique el mapeo recargado",
                          until=lambda f: "renamed_hits" in f)
        assert "renamed_hits" in fams
        assert value(fams, "statsd_bridge_config_reloads", outcome="success") == 1
        assert value(fams, "statsd_bridge_loaded_mappings") == 1
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()
