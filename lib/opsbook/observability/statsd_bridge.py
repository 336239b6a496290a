"""StatsD → Prometheus bridge: a small stand-in for prom/statsd-exporter.

Why this module exists (and is hand-written): Airflow reports its metrics over StatsD (UDP),
Prometheus only scrapes HTTP. prom/statsd-exporter translates between them, but Debian, PyPI
and npm carry no statsd_exporter and this machine has no Docker engine, so the native stack
runs this service instead: ``python -m opsbook.observability.statsd_bridge``. It listens for StatsD
on UDP ``settings.ports.statsd`` (9125) and serves ``/metrics`` on ``settings.ports.bridge`` (9102),
both on ``settings.HOST``, and reads the very same ``monitoring/statsd/mapping.yml`` that
prom/statsd-exporter reads in docker compose (format: :mod:`opsbook.observability.statsd_mapping`;
line parsing: :mod:`opsbook.observability.statsd_lines`; series and exposition:
:mod:`opsbook.observability.statsd_store`; sockets: :mod:`opsbook.observability.statsd_net`).

Hostile input keeps the scrape valid: tags named like a reserved label (``quantile``, ``le``,
``job``, ``instance``, ``__*``) are dropped and a tag named like a mapping label yields to it
(``statsd_bridge_tags_dropped_total{reason}``); at most ``--max-series`` series live
(``statsd_bridge_series_overflow_total``), unmapped ones expiring after ``--unmapped-ttl``
seconds idle; a sampled timer counts ``1/rate`` observations in one step.

It never imports Airflow. Malformed input never stops it: every line is counted in
``statsd_bridge_lines_total{outcome="ok|malformed|rejected|dropped"}`` plus upstream-style
``statsd_bridge_sample_errors_total{reason}`` and logged at debug level. SIGHUP reloads the
mapping. Hot path: a line already seen with the same name and type (``name:value|type``)
skips parsing and mapping through a per-(name, type) cache of the target series, and a
counter/gauge line repeated verbatim (``airflow.scheduler_heartbeat:1|c``) skips even that.
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import threading
import time
from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from opsbook.observability.statsd_lines import MAX_ABS_VALUE, escape_metric_name, parse_line
from opsbook.observability.statsd_mapping import Mapper, MappingError
from opsbook.observability.statsd_net import open_udp, run_udp, serve_http, wake
from opsbook.observability.statsd_store import OVERFLOW, RESERVED_LABELS, Store

log = logging.getLogger("opsbook.observability.statsd_bridge")
OUTCOMES = ("ok", "malformed", "rejected", "dropped")
_SIGNS = (b"+", b"-")
_COUNTER, _GAUGE, _OBSERVER = 0, 1, 2
_KIND_CODE = {"counter": _COUNTER, "gauge": _GAUGE, "observer": _OBSERVER}
_FAST_LIMIT = 50_000
_EXACT_LIMIT = 5_000


class Bridge:
    """Ingest StatsD packets into a :class:`~opsbook.observability.statsd_store.Store`.

    Args:
        mapper: the loaded mapping file.
    """

    def __init__(self, mapper: Mapper, max_series: int = 10_000,
                 unmapped_ttl_s: float = 0.0) -> None:
        self.mapper = mapper
        self.store = Store(max_series, unmapped_ttl_s)
        self.tags_dropped: Counter[str] = Counter()
        self._fast: dict[tuple[bytes, bytes], tuple] = {}
        self._exact: dict[bytes, tuple] = {}
        self.packets = 0
        self.last_packet = 0.0
        self.lines: Counter[str] = Counter({o: 0 for o in OUTCOMES})
        self._fast_hits = [0] * 6  # index: kind code * 2 + mapped
        self.sample_errors: Counter[str] = Counter()
        self.event_errors: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.conflicts: Counter[str] = Counter()
        self.unmapped = 0
        self.tag_errors = 0
        self.reloads: Counter[str] = Counter()

    # ---- ingestion -----------------------------------------------------------------
    def ingest(self, packet: bytes, now: float | None = None) -> None:
        """Apply every line of one UDP packet (lines separated by newlines).

        Args:
            packet: the datagram payload.
            now: timestamp of the packet (defaults to ``time.time()``).
        """
        if now is None:
            now = time.time()
        self.packets += 1
        self.last_packet = now
        fast, exact, hits = self._fast, self._exact, self._fast_hits
        for line in packet.split(b"\n") if b"\n" in packet else (packet,):
            hit = exact.get(line)
            if hit is not None:  # the very same counter/gauge line seen before
                hit[0](hit[1], hit[2], now)
                hits[hit[3]] += 1
                continue
            head, _, stat_type = line.rpartition(b"|")
            name, _, text = head.rpartition(b":")
            entry = fast.get((name, stat_type))
            if entry is not None:  # only simple "name:value|type" lines are ever cached
                if b"_" not in text and b" " not in text:
                    try:
                        value = float(text)
                    except ValueError:
                        value = None
                    if value is not None and -MAX_ABS_VALUE <= value <= MAX_ABS_VALUE:
                        series, code, millis, scale, slot = entry
                        if series is None:  # mapping says drop
                            self.actions["drop"] += 1
                            self.lines["dropped"] += 1
                            continue
                        if millis:
                            value = value / 1000.0
                        if scale is not None:
                            value *= scale
                        if code != _COUNTER or value >= 0:
                            relative = code == _GAUGE and text[:1] in _SIGNS
                            series.update(value, relative, now)
                            hits[slot] += 1
                            if code != _OBSERVER:
                                if len(exact) >= _EXACT_LIMIT:
                                    exact.clear()
                                exact[line] = (series.update, value, relative, slot)
                            continue
            if line:
                self._slow(line, now)

    def _slow(self, line: bytes, now: float) -> None:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            self.sample_errors["malformed_line"] += 1
            self.lines["malformed"] += 1
            log.debug("línea no UTF-8 descartada: %r", line[:200])
            return
        parsed = parse_line(text)
        dropped_before = self.tags_dropped.total()
        self.tag_errors += parsed.tag_errors
        for reason in parsed.errors:
            self.sample_errors[reason] += 1
        results = [self._apply(event, now) for event in parsed.events]
        if parsed.errors or not results:
            outcome = "malformed"
            log.debug("línea malformada (%s): %r", ",".join(parsed.errors), text[:200])
        elif any(r[0] == "rejected" for r in results):
            outcome = "rejected"
        elif all(r[0] == "dropped" for r in results):
            outcome = "dropped"
        else:
            outcome = "ok"
        self.lines[outcome] += 1
        name, _, rest = line.partition(b":")
        simple = rest.count(b"|") == 1 and b":" not in rest and len(results) == 1
        clean = not parsed.errors and not parsed.tag_errors and \
            self.tags_dropped.total() == dropped_before  # fast-path hits count nothing
        if simple and clean and outcome in ("ok", "dropped"):
            event = parsed.events[0]
            _, series, scale = results[0]
            stat_type = rest.split(b"|")[1]
            code = _KIND_CODE[event.kind]
            mapped = self.mapper.resolve(event.name, event.kind) is not None
            if len(self._fast) >= _FAST_LIMIT:
                self._fast.clear()
            self._fast[(name, stat_type)] = (series, code, stat_type == b"ms", scale,
                                             code * 2 + mapped)

    def _apply(self, event, now: float) -> tuple[str, object, float | None]:
        resolved = self.mapper.resolve(event.name, event.kind)
        mapping = resolved.mapping if resolved else None
        if mapping is not None and mapping.action == "drop":
            self.actions["drop"] += 1
            return "dropped", None, None
        labels = event.labels
        if labels and not RESERVED_LABELS.isdisjoint(labels) or any(
                k.startswith("__") for k in labels):
            labels = {k: v for k, v in labels.items()
                      if k not in RESERVED_LABELS and not k.startswith("__")}
            self.tags_dropped["reserved_label"] += len(event.labels) - len(labels)
        else:
            labels = dict(labels)
        if resolved is not None:
            if not resolved.name:
                self.event_errors["empty_metric_name"] += 1
                return "rejected", None, None
            name = escape_metric_name(resolved.name)
            for key, value in resolved.labels.items():
                if key in labels:  # one value per name: the mapping's, unless honor_labels
                    self.tags_dropped["mapped_label"] += 1
                    if mapping.honor_labels:
                        continue
                labels[key] = value
            self.actions["map"] += 1
        else:
            self.unmapped += 1
            name = escape_metric_name(event.name)
        scale = mapping.scale if mapping is not None else None
        value = event.value * scale if scale is not None else event.value
        if event.kind == "counter" and value < 0:
            self.event_errors["illegal_negative_counter"] += 1
            log.debug("contador negativo rechazado: %s=%s", name, value)
            return "rejected", None, None
        kind = event.kind
        if kind == "observer":
            kind = (mapping.observer_type if mapping else "") or \
                self.mapper.defaults["observer_type"] or "summary"
        help_text = mapping.help if mapping is not None else ""
        evicted = self.store.evicted
        series = self.store.series(name, kind, help_text, labels, mapping)
        if self.store.evicted != evicted:  # the caches may hold the evicted series
            self._fast.clear()
            self._exact.clear()
        if series is None:
            self.conflicts[event.kind] += 1
            log.debug("tipo o nombre en conflicto para %s (%s)", name, kind)
            return "rejected", None, None
        if series is OVERFLOW:
            log.debug("límite de %d series alcanzado: %s descartada", self.store.max_series, name)
            return "rejected", None, None
        if event.weight != 1:
            series.observe_many(value, event.weight, now)
            self.events[event.kind] += 1
            return "ok", None, scale  # never cached: the fast path has no weight
        series.update(value, event.relative, now)
        self.events[event.kind] += 1
        return "ok", series, scale

    def reload(self, path: Path) -> bool:
        """Reload the mapping file; keep the old one when the new one is invalid."""
        try:
            self.mapper = Mapper.from_file(path)
        except MappingError as exc:
            self.reloads["failure"] += 1
            log.error("recarga del mapeo fallida, sigo con el anterior: %s", exc)
            return False
        self._fast.clear()
        self._exact.clear()
        self.reloads["success"] += 1
        log.info("mapeo recargado: %d reglas", len(self.mapper.mappings))
        return True

    def expire(self, now: float) -> None:
        """Remove series idle for longer than their TTL (clears the fast caches when any)."""
        if self.store.expire(now):
            self._fast.clear()
            self._exact.clear()

    # ---- exposition ----------------------------------------------------------------
    def collect(self):
        """Yield the bridge's own metrics (``prometheus_client`` collector protocol)."""
        lines, events, actions = self.lines.copy(), self.events.copy(), self.actions.copy()
        unmapped = self.unmapped
        for slot, hits in enumerate(list(self._fast_hits)):
            kind, mapped = ("counter", "gauge", "observer")[slot // 2], slot % 2
            lines["ok"] += hits
            events[kind] += hits
            if mapped:
                actions["map"] += hits
            else:
                unmapped += hits
        specs = (
            ("statsd_bridge_lines", "StatsD lines by outcome.", "outcome", lines),
            ("statsd_bridge_sample_errors", "Samples rejected by the parser, by reason.",
             "reason", self.sample_errors),
            ("statsd_bridge_events", "Events applied, by StatsD type.", "type", events),
            ("statsd_bridge_events_actions", "Mapped events by action.", "action", actions),
            ("statsd_bridge_events_error", "Events rejected after mapping.", "reason",
             self.event_errors),
            ("statsd_bridge_events_conflict", "Events whose name exists with another type.",
             "type", self.conflicts),
            ("statsd_bridge_config_reloads", "Mapping reloads by outcome.", "outcome",
             self.reloads),
            ("statsd_bridge_tags_dropped", "Tags dropped because a reserved or mapped label "
             "owns their name.", "reason", self.tags_dropped),
        )
        for name, doc, label, counts in specs:
            family = CounterMetricFamily(name, doc, labels=[label])
            for key, value in sorted(counts.copy().items()):
                family.add_metric([key], value)
            yield family
        yield CounterMetricFamily("statsd_bridge_udp_packets", "UDP packets received.",
                                  value=self.packets)
        yield CounterMetricFamily("statsd_bridge_events_unmapped",
                                  "Events without a matching mapping.", value=unmapped)
        yield CounterMetricFamily("statsd_bridge_tag_errors", "Malformed tags.",
                                  value=self.tag_errors)
        yield CounterMetricFamily("statsd_bridge_series_overflow",
                                  "Events dropped because the series cap was reached.",
                                  value=self.store.overflow)
        yield CounterMetricFamily("statsd_bridge_series_evicted",
                                  "Idle unmapped series evicted to make room for mapped ones.",
                                  value=self.store.evicted)
        yield GaugeMetricFamily("statsd_bridge_series", "Live series.", value=self.store.live)
        yield GaugeMetricFamily("statsd_bridge_series_limit", "Cap on live series (0: none).",
                                value=self.store.max_series)
        yield GaugeMetricFamily("statsd_bridge_last_packet_timestamp_seconds",
                                "Unix time of the last UDP packet (0 = none yet).",
                                value=self.last_packet)
        yield GaugeMetricFamily("statsd_bridge_loaded_mappings", "Rules in the mapping file.",
                                value=len(self.mapper.mappings))

    def render(self) -> bytes:
        """Full ``/metrics`` body: mapped metrics, then the bridge's own."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return self.store.render(time.time()).encode() + generate_latest(registry)


def main(argv: list[str] | None = None) -> int:
    """Run the bridge (``python -m opsbook.observability.statsd_bridge --help``)."""
    from opsbook.settings import HOST, settings

    parser = argparse.ArgumentParser(description="Puente StatsD → Prometheus de opsbook")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--udp-port", type=int, default=settings.ports.statsd)
    parser.add_argument("--web-port", type=int, default=settings.ports.bridge)
    parser.add_argument("--mapping-config", type=Path,
                        default=settings.monitoring_dir / "statsd" / "mapping.yml")
    parser.add_argument("--read-buffer", type=int, default=0,
                        help="SO_RCVBUF en bytes (como --statsd.read-buffer de upstream)")
    parser.add_argument("--max-series", type=int, default=settings.statsd_max_series,
                        help="máximo de series vivas (0: sin límite)")
    parser.add_argument("--unmapped-ttl", type=float, default=settings.statsd_unmapped_ttl_s,
                        help="segundos sin datos tras los que caduca una serie sin mapeo")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        bridge = Bridge(Mapper.from_file(args.mapping_config), args.max_series, args.unmapped_ttl)
        sock = open_udp(args.host, args.udp_port, args.read_buffer)
        server = serve_http(bridge, args.host, args.web_port)
    except MappingError as exc:
        log.error("mapeo inválido: %s", exc)
        return 2
    except OSError as exc:
        log.error("no puedo abrir los puertos %s:%s/udp y %s/tcp: %s (¿otro proceso los usa?)",
                  args.host, args.udp_port, args.web_port, exc)
        return 2
    stop, reload_flag = threading.Event(), threading.Event()
    gc.freeze()  # long-lived service: keep start-up objects out of every collection
    gc.set_threshold(50_000, 20, 20)  # per-line key tuples would trigger gen-0 runs constantly

    def on_stop(*_) -> None:
        stop.set()
        wake(sock)

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, lambda *_: reload_flag.set())
    log.info("puente StatsD escuchando en %s:%d/udp, /metrics en http://%s:%d/metrics (%d reglas)",
             args.host, args.udp_port, args.host, args.web_port, len(bridge.mapper.mappings))
    try:
        run_udp(bridge, sock, stop, args.mapping_config, reload_flag)
    finally:
        server.shutdown()
        sock.close()
    log.info("puente StatsD detenido")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
