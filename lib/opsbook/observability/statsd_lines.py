"""StatsD line parsing and metric-name escaping, as prom/statsd-exporter does it.

Why this module exists: the StatsD bridge (:mod:`opsbook.observability.statsd_bridge`) must accept
exactly
what prom/statsd-exporter accepts, so that ``monitoring/statsd/mapping.yml`` and the packets
Airflow sends mean the same on the native stack and in docker compose. This module ports the
exporter's ``pkg/line`` parser (counters ``c`` with ``|@rate``, gauges ``g`` with ``+``/``-``
deltas, timers ``ms`` converted to seconds, ``h``/``d`` observations, several samples per line,
DogStatsD ``|#k:v`` tags, InfluxDB ``,k=v``, Librato ``#k=v`` and SignalFx ``[k=v]`` name
tags) and its ``EscapeMetricName``. It never raises on bad input: problems come back as
upstream's error reasons so the bridge can count them.

Two deliberate departures keep one hostile packet from costing much: a sample rate on a
timer/histogram becomes the event's ``weight`` (upstream repeats the observation ``1/rate``
times: ``@0.0001`` meant 10 000 events; here it is one event counted 10 000 times), and values
that are not finite or exceed :data:`MAX_ABS_VALUE`, rates outside
[:data:`MIN_SAMPLE_RATE`, 1] and lines longer than :data:`MAX_LINE` are rejected with their
own reasons instead of poisoning a series with ``inf``/``nan``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

EventKind = Literal["counter", "gauge", "observer"]

MAX_ABS_VALUE = 1e15
"""Largest accepted absolute sample value (beyond it sums overflow to ``inf`` quickly)."""
MIN_SAMPLE_RATE = 1e-6
"""Smallest accepted sample rate (one event then weighs a million)."""
MAX_LINE = 4096
"""Longest accepted line in characters (bounds the memory of a series' name and labels)."""

_VALID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def escape_metric_name(name: str) -> str:
    """Replace characters Prometheus does not allow in a metric name, like upstream.

    Every character outside ``[a-zA-Z0-9_]`` becomes ``_`` (a run of dashes collapses into
    one ``_``) and a leading digit gets a ``_`` in front.

    Args:
        name: a StatsD metric name such as ``airflow.ti.finish.my-dag``.

    Returns:
        The escaped name, e.g. ``airflow_ti_finish_my_dag``.
    """
    if not name:
        return ""
    if "0" <= name[0] <= "9":
        out = ["_"]
    elif all(c in _VALID_CHARS for c in name):
        return name
    else:
        out = []
    prev = ""
    for c in name:
        if c in _VALID_CHARS:
            out.append(c)
        elif c == "-" and prev == "-":
            continue
        else:
            out.append("_")
        prev = c
    return "".join(out)


@dataclass(frozen=True)
class Event:
    """One StatsD sample ready for mapping.

    Attributes:
        kind: ``counter``, ``gauge`` or ``observer`` (timers, histograms, distributions).
        name: StatsD metric name, tags removed.
        value: counters already divided by the sample rate; timers in seconds.
        relative: gauge delta (value started with ``+`` or ``-``).
        labels: labels taken from tags (names escaped).
        weight: how many observations this one stands for (``int(1/rate)`` for a sampled
            timer/histogram, as upstream counts them; always 1 for counters and gauges).
    """

    kind: EventKind
    name: str
    value: float
    relative: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    weight: int = 1


@dataclass
class ParsedLine:
    """Result of parsing one line: events plus upstream's error reasons."""

    events: list[Event] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tag_errors: int = 0


def parse_float(text: str) -> float:
    """Parse a StatsD number like Go's ``strconv.ParseFloat`` (no spaces, no ``_``).

    Raises:
        ValueError: when ``text`` is not a number.
    """
    if not text or "_" in text or text.strip() != text:
        raise ValueError(text)
    return float(text)


def _parse_tag(tag: str, sep: str, labels: dict[str, str], result: ParsedLine) -> None:
    key, found, value = tag.partition(sep)
    if not found or not key or not value:
        result.tag_errors += 1
        return
    labels[escape_metric_name(key)] = value


def _parse_name_tags(component: str, labels: dict[str, str], result: ParsedLine) -> None:
    for tag in component.split(","):
        if tag:
            _parse_tag(tag, "=", labels, result)
        else:
            result.tag_errors += 1


def _parse_dogstatsd_tags(component: str, labels: dict[str, str], result: ParsedLine) -> None:
    for tag in component.split(","):
        _parse_tag(tag[1:] if tag.startswith("#") else tag, ":", labels, result)


def _split_name(name: str, labels: dict[str, str], result: ParsedLine) -> str:
    start, end = name.find("["), name.find("]")
    if start != -1 and end != -1:  # SignalFx
        _parse_name_tags(name[start + 1 : end], labels, result)
        return name[:start] + name[end + 1 :]
    if (start == -1) != (end == -1):
        result.tag_errors += 1
        return name
    for i, c in enumerate(name):
        if c in "#,":  # Librato '#', InfluxDB ','
            _parse_name_tags(name[i + 1 :], labels, result)
            return name[:i]
    return name


def _build(stat_type: str, name: str, value: float, relative: bool, labels: dict[str, str],
           weight: int = 1):
    if stat_type == "c":
        return Event("counter", name, value, False, dict(labels))
    if stat_type == "g":
        return Event("gauge", name, value, relative, dict(labels))
    if stat_type == "ms":
        return Event("observer", name, value / 1000.0, False, dict(labels), weight)
    if stat_type in ("h", "d"):
        return Event("observer", name, value, False, dict(labels), weight)
    return None  # sets ("s") and unknown types are illegal events upstream


def parse_line(line: str) -> ParsedLine:
    """Parse one StatsD line into events, never raising.

    Args:
        line: e.g. ``airflow.pipeline.extract.records.pipeline_ventas:120|c`` or
            ``api.latency:12|ms|@0.5|#env:dev``.

    Returns:
        The events and the upstream error reasons (``malformed_line``, ``malformed_value``,
        ``malformed_component``, ``invalid_sample_factor``, ``illegal_event``, ...) plus this
        bridge's ``line_too_long``, ``non_finite_value``, ``value_out_of_range`` and
        ``sample_rate_out_of_range``.
    """
    result = ParsedLine()
    if not line:
        return result
    if len(line) > MAX_LINE:
        result.errors.append("line_too_long")
        return result
    name_part, sep, rest = line.partition(":")
    if not sep or not name_part:
        result.errors.append("malformed_line")
        return result
    labels: dict[str, str] = {}
    metric = _split_name(name_part, labels, result)
    using_dog = "|#" in rest
    if using_dog and labels:
        result.errors.append("mixed_tagging_styles")
        return result
    head = rest.split("|", 2)
    if len(head) < 2:
        result.errors.append("not_enough_parts_after_colon")
        return result
    if ":" in head[0]:
        if head[1] not in ("ms", "h", "d"):
            result.errors.append("invalid_extended_aggregate_type")
            return result
        suffix = rest.split("|", 1)[1]
        samples = [f"{v}|{suffix}" for v in head[0].split(":")]
    elif using_dog:
        samples = [rest]
    else:
        samples = rest.split(":")
    for sample in samples:
        _parse_sample(sample, metric, labels, result)
    return result


def _parse_sample(sample: str, metric: str, labels: dict[str, str], result: ParsedLine) -> None:
    components = sample.split("|")
    if not 2 <= len(components) <= 8:
        result.errors.append("malformed_component")
        return
    value_text, stat_type = components[0], components[1]
    relative = value_text[:1] in ("+", "-")
    try:
        value = parse_float(value_text)
    except ValueError:
        result.errors.append("malformed_value")
        return
    if not math.isfinite(value):
        result.errors.append("non_finite_value")
        return
    if abs(value) > MAX_ABS_VALUE:
        result.errors.append("value_out_of_range")
        return
    extras = components[2:]
    if any(not c for c in extras):
        result.errors.append("malformed_component")
        return
    weight = 1
    for comp in extras:
        if comp[0] == "@":
            try:
                rate = parse_float(comp[1:])
            except ValueError:
                result.errors.append("invalid_sample_factor")
                rate = 0.0
            rate = rate or 1.0
            if not MIN_SAMPLE_RATE <= rate <= 1.0:  # also nan, inf and negative rates
                result.errors.append("sample_rate_out_of_range")
                return
            if stat_type == "c":
                value /= rate
            elif stat_type in ("ms", "h", "d"):
                weight = int(1 / rate)  # upstream's count of repeated observations
        elif comp[0] == "#":
            _parse_dogstatsd_tags(comp[1:], labels, result)
        elif comp[0] == "c":
            if not (comp.startswith("c:") and len(comp) > 2):
                result.errors.append("malformed_container_id")
                return
            labels["container_id"] = comp[2:]
        elif comp[0] == "T":
            if len(comp) < 2 or not comp[1:].lstrip("+-").isdigit():
                result.errors.append("malformed_timestamp")
                return
        else:
            result.errors.append("invalid_sample_factor")
            return
    event = _build(stat_type, metric, value, relative, labels, weight)
    if event is None:
        result.errors.append("illegal_event")
        return
    result.events.append(event)
