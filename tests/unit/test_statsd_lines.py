"""StatsD line parsing and name escaping behave like prom/statsd-exporter."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opsbook.observability.statsd_lines import escape_metric_name, parse_line

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [  # upstream's pkg/mapper/escape_test.go scenarios
        ("clean", "clean"),
        ("0starts_with_digit", "_0starts_with_digit"),
        ("with_underscore", "with_underscore"),
        ("with--doubledash", "with_doubledash"),
        ("with---multiple-dashes", "with_multiple_dashes"),
        ("with.dot", "with_dot"),
        ("with😱emoji", "with_emoji"),
        ("with.*.multiple", "with___multiple"),
        ("test.web-server.foo.bar", "test_web_server_foo_bar"),
        ("", ""),
    ],
)
def test_escape_metric_name_matches_upstream(raw, escaped):
    assert escape_metric_name(raw) == escaped


def one(line):
    parsed = parse_line(line)
    assert parsed.errors == [], parsed.errors
    assert len(parsed.events) == 1
    return parsed.events[0]


def test_counter_sample_rate_is_divided_out():
    event = one("airflow.ti_failures:1|c|@0.1")
    assert (event.kind, event.name) == ("counter", "airflow.ti_failures")
    assert event.value == pytest.approx(10.0)


def test_gauge_absolute_and_deltas():
    assert one("q:0.5|g").relative is False
    plus, minus = one("q:+3|g"), one("q:-2|g")
    assert (plus.relative, plus.value) == (True, 3.0)
    assert (minus.relative, minus.value) == (True, -2.0)


def test_timer_milliseconds_become_seconds_histogram_values_do_not():
    assert one("t:1500|ms").value == pytest.approx(1.5)
    assert one("t:1500|h").value == pytest.approx(1500)
    assert one("t:1500|ms").kind == "observer"


def test_timer_sample_rate_weighs_one_observation():
    parsed = parse_line("t:10|ms|@0.25")
    assert len(parsed.events) == 1  # one event, not four: O(1) whatever the rate
    assert parsed.events[0].weight == 4 and parsed.events[0].value == pytest.approx(0.01)
    assert parse_line("t:10|ms|@0.0001").events[0].weight == 10_000
    assert one("c:1|c|@0.5").weight == 1


@pytest.mark.parametrize(("line", "reason"), [
    ("a:inf|c", "non_finite_value"), ("a:-Inf|g", "non_finite_value"),
    ("a:nan|ms", "non_finite_value"), ("a:1e400|c", "non_finite_value"),
    ("a:1e16|g", "value_out_of_range"), ("a:1|ms|@1e-9", "sample_rate_out_of_range"),
    ("a:1|c|@2", "sample_rate_out_of_range"), ("a:1|c|@-0.5", "sample_rate_out_of_range"),
    ("a:1|c|@nan", "sample_rate_out_of_range"), ("a" * 5000 + ":1|c", "line_too_long"),
])
def test_out_of_range_values_and_rates_are_rejected(line, reason):
    parsed = parse_line(line)
    assert parsed.events == [] and parsed.errors == [reason]


def test_several_samples_in_one_line_and_extended_aggregation():
    assert [e.value for e in parse_line("a:1|c:2|c").events] == [1.0, 2.0]
    assert [e.value for e in parse_line("t:1:2:3|ms").events] == [0.001, 0.002, 0.003]
    assert parse_line("g:1:2|g").errors == ["invalid_extended_aggregate_type"]


@pytest.mark.parametrize(
    "line",
    ["a:1|c|#env:dev,team:data", "a,env=dev,team=data:1|c", "a#env=dev,team=data:1|c",
     "a[env=dev,team=data]:1|c"],
)
def test_tag_styles_dogstatsd_influx_librato_signalfx(line):
    event = one(line)
    assert event.name == "a"
    assert event.labels == {"env": "dev", "team": "data"}


def test_tag_keys_are_escaped_and_bad_tags_counted():
    parsed = parse_line("a:1|c|#dag-id:x,broken,:v")
    assert parsed.events[0].labels == {"dag_id": "x"}
    assert parsed.tag_errors == 2


def test_mixed_tagging_styles_are_rejected():
    assert parse_line("a,k=v:1|c|#x:y").errors == ["mixed_tagging_styles"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("no_colon", "malformed_line"),
        (":1|c", "malformed_line"),
        ("a:1", "not_enough_parts_after_colon"),
        ("a:x|c", "malformed_value"),
        ("a:1_0|c", "malformed_value"),
        ("a: 1|c", "malformed_value"),
        ("a:1|c|", "malformed_component"),
        ("a:1|c|1|2|3|4|5|6|7", "malformed_component"),
        ("a:1|s", "illegal_event"),
        ("a:1|zz", "illegal_event"),
        ("a:1|c|x", "invalid_sample_factor"),
        ("a:1|c|Tabc", "malformed_timestamp"),
    ],
)
def test_malformed_lines_give_upstream_reasons_without_events(line, reason):
    parsed = parse_line(line)
    assert parsed.events == []
    assert parsed.errors == [reason]


def test_bad_sample_factor_is_counted_but_the_sample_kept():
    parsed = parse_line("a:2|c|@oops")
    assert parsed.errors == ["invalid_sample_factor"]
    assert [e.value for e in parsed.events] == [2.0]


def test_empty_line_is_nothing():
    parsed = parse_line("")
    assert (parsed.events, parsed.errors) == ([], [])


@given(st.text(max_size=80))
def test_parser_never_raises(text):
    parsed = parse_line(text)
    assert isinstance(parsed.errors, list)
