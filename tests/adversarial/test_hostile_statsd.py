"""Hostile and fuzzed StatsD packets never make the bridge's scrape invalid or lose good data.

Prometheus rejects a whole scrape when one sample repeats a label name or one series appears
twice, which takes every pipeline metric and alert down with it. After every hostile packet the
exposition is parsed with ``prometheus_client.parser`` and checked for both, and the good
series fed before the attack still hold their values.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opsbook.observability.statsd_bridge import Bridge
from opsbook.observability.statsd_mapping import Mapper
from opsbook.settings import settings as opsbook_settings
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.unit

MAPPING = Mapper.from_file(opsbook_settings.monitoring_dir / "statsd" / "mapping.yml")
GOOD = [
    b"airflow.pipeline.dag.success.pipeline_ventas:1|c",
    b"airflow.pipeline.dag.duration.pipeline_ventas:4000|ms",
    b"airflow.pipeline.transform.quality.pipeline_ventas:0.95|g",
    b"airflow.scheduler_heartbeat:1|c",
]
HOSTILE = [
    b"name:1|ms|#quantile:0.5",  # the packet that took the target down
    b"airflow.pipeline.dag.duration.pipeline_ventas:10|ms|#quantile:0.5,le:1",
    b"hist:1|h|#le:+Inf",
    b"x:1|c|#job:evil,instance:1.2.3.4:80",
    b"x2,quantile=0.9,le=2:1|ms",  # InfluxDB-style tags
    b"x3[quantile=0.5]:1|ms",  # SignalFx-style tags
    b"x4#__name__=evil:1|c",  # Librato-style tags
    b"airflow.pipeline.dag.success.pipeline_ventas:1|c|#dag_id:forged",  # mapped label
    b"airflow.pipeline.dag.success.pipeline_ventas:inf|c",
    b"airflow.pipeline.transform.quality.pipeline_ventas:nan|g",
    b"airflow.pipeline.transform.quality.pipeline_ventas:-inf|g",
    b"airflow.pipeline.transform.quality.pipeline_ventas:1e300|g",
    b"airflow.pipeline.dag.success.pipeline_ventas:1|c|@1e-300",
    b"statsd_bridge_udp_packets:5|c",  # the bridge's own metric name
    b"airflow_pipeline_dag_duration_count:7|c",  # a summary's derived name
    b"airflow_pipeline_dag_duration_sum:7|g",
    b"later:1|c\nlater_bucket:1|h",
    b"later_sum:1|c\nlater:1|ms",
    b"v:1|g|#k:" + "é\\\"\n".encode() * 3,
    b"\xff\xfe\x00:1|c",
    b"a" * 70000,
]


def exposition_is_valid(text: str) -> dict:
    """Parse like Prometheus would need: no repeated label name, no repeated series."""
    families = {f.name: f for f in text_string_to_metric_families(text)}
    seen: set[tuple] = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, labels = _split_sample(line)
        names = [k for k, _ in labels]
        assert len(names) == len(set(names)), f"etiqueta repetida: {line!r}"
        key = (name, tuple(sorted(labels)))
        assert key not in seen, f"serie repetida: {line!r}"
        seen.add(key)
    return families


def _split_sample(line: str) -> tuple[str, list[tuple[str, str]]]:
    brace = line.find("{")
    space = line.find(" ")
    if brace == -1 or space < brace:
        return line[:space], []
    name, i, labels = line[:brace], brace + 1, []
    while line[i] != "}":
        eq = line.index("=", i)
        key, i = line[i:eq], eq + 2  # skip '="'
        value = []
        while line[i] != '"':
            if line[i] == "\\":
                i += 1
            value.append(line[i])
            i += 1
        labels.append((key, "".join(value)))
        i += 1
        if line[i] == ",":
            i += 1
    return name, labels


def _value(fams: dict, family: str, sample: str, **labels) -> float:
    found = [s.value for s in fams[family].samples
             if s.name in (sample, f"{sample}_total") and s.labels == labels]
    assert len(found) == 1, (family, sample, labels, fams[family].samples)
    return found[0]


def _good_state(bridge: Bridge) -> dict:
    fams = exposition_is_valid(bridge.render().decode())
    return {
        "success": _value(fams, "airflow_pipeline_dag_success", "airflow_pipeline_dag_success",
                          dag_id="pipeline_ventas"),
        "duration_count": _value(fams, "airflow_pipeline_dag_duration",
                                 "airflow_pipeline_dag_duration_count", dag_id="pipeline_ventas"),
        "quality": _value(fams, "airflow_pipeline_transform_quality",
                          "airflow_pipeline_transform_quality", dag_id="pipeline_ventas"),
    }


@pytest.fixture
def bridge() -> Bridge:
    b = Bridge(MAPPING, max_series=10_000, unmapped_ttl_s=600)
    for packet in GOOD:
        b.ingest(packet, now=1000.0)
    return b


@pytest.mark.parametrize("packet", HOSTILE)
def test_each_hostile_packet_keeps_the_scrape_valid_and_loses_nothing(bridge, packet):
    before = _good_state(bridge)
    bridge.ingest(packet, now=1001.0)
    after = _good_state(bridge)
    assert after["quality"] == before["quality"] == 0.95
    assert after["success"] in (before["success"], before["success"] + 1)  # #dag_id:forged
    assert after["duration_count"] in (before["duration_count"], before["duration_count"] + 1)


def test_reserved_and_mapped_tags_are_dropped_and_counted(bridge):
    for packet in HOSTILE:
        bridge.ingest(packet, now=1001.0)
    fams = exposition_is_valid(bridge.render().decode())
    dropped = {s.labels["reason"]: s.value for s in fams["statsd_bridge_tags_dropped"].samples}
    assert dropped["reserved_label"] >= 10 and dropped["mapped_label"] == 1
    errors = {s.labels["reason"]: s.value for s in fams["statsd_bridge_sample_errors"].samples}
    assert errors["non_finite_value"] == 3 and errors["value_out_of_range"] == 1
    assert errors["sample_rate_out_of_range"] == 1 and errors["line_too_long"] == 1
    # the forged dag_id never became a series: the mapping's label won
    dag_ids = {s.labels.get("dag_id") for s in fams["airflow_pipeline_dag_success"].samples}
    assert dag_ids == {"pipeline_ventas"}
    assert "statsd_bridge_udp_packets" in fams  # the bridge's own, once
    conflicts = sum(s.value for s in fams["statsd_bridge_events_conflict"].samples)
    assert conflicts == 4  # own name, two derived names, later:1|ms after later:1|c


def test_sampled_timer_counts_ten_thousand_in_one_step(bridge):
    started = time.perf_counter()
    bridge.ingest(b"sampled.timer:5|ms|@0.0001", now=1001.0)
    elapsed = time.perf_counter() - started
    fams = exposition_is_valid(bridge.render().decode())
    assert _value(fams, "sampled_timer", "sampled_timer_count") == 10_000
    assert _value(fams, "sampled_timer", "sampled_timer_sum") == pytest.approx(50.0)
    series = next(iter(bridge.store.families["sampled_timer"].series.values()))
    assert sum(len(b) for _, b in series.ages) == 1  # one observation stored, not 10 000
    assert elapsed < 0.05
    bridge.ingest(b"sampled.hist:5|h|@0.001", now=1001.0)


def test_thirty_thousand_names_stay_under_the_cap_and_mapped_series_still_get_in():
    bridge = Bridge(MAPPING, max_series=10_000, unmapped_ttl_s=600)
    for start in range(0, 30_000, 100):
        bridge.ingest(b"\n".join(b"spam.n%d:1|c" % i for i in range(start, start + 100)),
                      now=1000.0)
    assert bridge.store.live == 10_000 and bridge.store.overflow == 20_000
    bridge.ingest(GOOD[0], now=1001.0)  # a legitimate mapped series evicts an idle spam one
    fams = exposition_is_valid(bridge.render().decode())
    assert _value(fams, "airflow_pipeline_dag_success", "airflow_pipeline_dag_success",
                  dag_id="pipeline_ventas") == 1
    spam = sum(1 for name in fams if name.startswith("spam_"))
    assert spam == 9_999 and bridge.store.evicted == 1
    assert _value(fams, "statsd_bridge_series_overflow", "statsd_bridge_series_overflow_total") \
        == 20_000
    bridge.expire(1000.0 + 601)  # idle unmapped series expire, mapped ones stay
    assert bridge.store.live == 1 and "spam_n1" not in bridge.store.families


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda name, value, kind, rate, tags: f"{name}:{value}|{kind}{rate}{tags}",
        st.sampled_from(["x", "x_sum", "x_count", "x_bucket", "airflow.pipeline.dag.success.p",
                         "airflow.pipeline.dag.duration.p", "airflow_pipeline_dag_duration_sum",
                         "statsd_bridge_lines", "y,le=1", "y[quantile=1]", "z#job=j", "ü.ñ"]),
        st.one_of(st.sampled_from(["1", "-1", "+2", "inf", "nan", "1e308", "0", "1e-300"]),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr)),
        st.sampled_from(["c", "g", "ms", "h", "d", "s"]),
        st.sampled_from(["", "|@0.5", "|@0.0001", "|@0", "|@-1", "|@nan", "|@1e-9"]),
        st.lists(st.sampled_from(["quantile:0.5", "le:1", "job:a", "instance:b", "dag_id:f",
                                  "__name__:n", "k:v", "k:w", "quantile:0.9"]),
                 max_size=4).map(lambda t: "|#" + ",".join(t) if t else ""),
    ).map(str.encode),
), min_size=1, max_size=8))
def test_fuzzed_packets_never_break_the_exposition(packets):
    bridge = Bridge(MAPPING, max_series=50, unmapped_ttl_s=600)
    bridge.ingest(GOOD[2], now=1000.0)
    for packet in packets:
        bridge.ingest(packet, now=1001.0)
    fams = exposition_is_valid(bridge.render().decode())
    assert _value(fams, "airflow_pipeline_transform_quality", "airflow_pipeline_transform_quality",
                  dag_id="pipeline_ventas") == 0.95
    assert bridge.store.live <= 50


def test_a_squatted_derived_name_cannot_block_a_mapped_metric():
    bridge = Bridge(MAPPING)
    bridge.ingest(b"airflow_pipeline_dag_duration_count:1|c\nairflow_pipeline_dag_success:1|g")
    bridge.ingest(b"airflow.pipeline.dag.duration.pipeline_ventas:4000|ms\n" + GOOD[0])
    fams = exposition_is_valid(bridge.render().decode())
    assert _value(fams, "airflow_pipeline_dag_duration", "airflow_pipeline_dag_duration_count",
                  dag_id="pipeline_ventas") == 1
    assert _value(fams, "airflow_pipeline_dag_success", "airflow_pipeline_dag_success",
                  dag_id="pipeline_ventas") == 1
    assert fams["airflow_pipeline_dag_success"].type == "counter"
    assert bridge.store.evicted == 2
