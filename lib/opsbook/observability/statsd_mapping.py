"""The prom/statsd-exporter mapping file format: load, validate and match.

Why this module exists: ``monitoring/statsd/mapping.yml`` is read both by our bridge on the
native stack and by prom/statsd-exporter in docker compose, so it must mean the same thing
to both. This module implements upstream's semantics: ``match`` globs where ``*`` is one
dot-separated part captured as ``$1``, ``$2``...; ``match_type: regex`` (unanchored search,
``$1``/``${name}`` expansion); every glob is tried before any regex and the first match in
file order wins; ``match_metric_type``; ``name``, ``labels``, ``help``, ``scale``,
``action: drop``, ``observer_type`` (or the deprecated ``timer_type``), summary quantiles,
histogram buckets, ``ttl`` and the ``defaults`` block. Validation errors are Spanish and
name the offending entry.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

DEFAULT_QUANTILES: tuple[tuple[float, float], ...] = ((0.5, 0.05), (0.9, 0.01), (0.99, 0.001))
"""Upstream's default summary objectives (quantile, allowed error)."""
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""``prometheus.DefBuckets`` of client_golang."""
DEFAULT_MAX_AGE_S = 600.0
"""client_golang's default summary ``MaxAge`` (10 minutes)."""

_STATSD_PART = r"[a-zA-Z_](-?[a-zA-Z0-9_])*"
_GLOB_RE = re.compile(rf"^(\*\.|{_STATSD_PART}\.)+(\*|{_STATSD_PART})$")
_TEMPLATE = r"(\$\{?\d+\}?)"
_NAME_RE = re.compile(rf"^([a-zA-Z_]|{_TEMPLATE})([a-zA-Z0-9_]|{_TEMPLATE})*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]+$")
_GLOB_TEMPLATE = re.compile(r"\$\{?(\d+)\}?")
_REGEX_TEMPLATE = re.compile(r"\$(\$|\{(\w+)\}|(\w+))")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_KNOWN_KEYS = {
    "match", "name", "labels", "observer_type", "timer_type", "buckets", "quantiles",
    "match_type", "help", "action", "match_metric_type", "ttl", "summary_options",
    "histogram_options", "scale", "honor_labels",
}
_RESERVED = frozenset({"quantile", "le", "job", "instance"})
_METRIC_TYPES = {"counter": "counter", "gauge": "gauge", "observer": "observer",
                 "timer": "observer"}


class MappingError(ValueError):
    """The mapping file is invalid; the message (Spanish) says which entry and why."""


def parse_duration(text: Any) -> float:
    """Parse a Go duration (``90s``, ``10m``, ``1h30m``) or a number of seconds.

    Raises:
        MappingError: when ``text`` is not a duration.
    """
    if isinstance(text, int | float):
        return float(text)
    text = str(text).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise MappingError(f"duración inválida {text!r}: usa el formato de Go, p. ej. 30s o 10m")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


@dataclass
class Mapping:
    """One entry of ``mappings:`` after validation and defaulting."""

    match: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    match_type: str = "glob"
    match_metric_type: str | None = None
    action: str = "map"
    help: str = ""
    observer_type: str = ""
    quantiles: tuple[tuple[float, float], ...] = DEFAULT_QUANTILES
    max_age_s: float = DEFAULT_MAX_AGE_S
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    ttl_s: float = 0.0
    scale: float | None = None
    honor_labels: bool = False
    pattern: re.Pattern[str] | None = None

    def expand(self, template: str, match: re.Match[str]) -> str:
        """Fill ``$1``-style references of ``template`` with the captures of ``match``."""
        if self.match_type == "glob":
            groups = match.groups()

            def glob_sub(m: re.Match[str]) -> str:
                i = int(m.group(1))
                return groups[i - 1] if 0 < i <= len(groups) else ""

            return _GLOB_TEMPLATE.sub(glob_sub, template)

        def regex_sub(m: re.Match[str]) -> str:
            if m.group(1) == "$":
                return "$"
            ref = m.group(2) or m.group(3)
            try:
                return match.group(int(ref) if ref.isdigit() else ref) or ""
            except IndexError:  # unknown group: Go's Expand yields ""
                return ""

        return _REGEX_TEMPLATE.sub(regex_sub, template)


@dataclass(frozen=True)
class Resolved:
    """A StatsD name resolved by the mapper: the mapping, the Prometheus name and labels."""

    mapping: Mapping | None
    name: str
    labels: dict[str, str]


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    parts = [r"([^.]*)" if p == "*" else re.escape(p) for p in glob.split(".")]
    return re.compile(r"\.".join(parts) + r"\Z")


def _objectives(raw: Any, where: str) -> tuple[tuple[float, float], ...]:
    try:
        return tuple((float(q["quantile"]), float(q.get("error", 0.0))) for q in raw)
    except (TypeError, KeyError, ValueError):
        msg = f"{where}: quantiles debe ser una lista de {{quantile, error}}"
        raise MappingError(msg) from None


def _build_mapping(i: int, raw: Any, defaults: dict[str, Any]) -> Mapping:
    where = f"mappings[{i}]"
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: cada entrada debe ser un diccionario")
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        log.warning("%s: claves desconocidas ignoradas (como upstream): %s", where, sorted(unknown))
    match, name = str(raw.get("match", "")), raw.get("name")
    where = f"mappings[{i}] ({match!r})"
    if not name:
        raise MappingError(f"{where}: falta 'name' (upstream lo exige también con action: drop)")
    if not _NAME_RE.match(str(name)):
        raise MappingError(f"{where}: nombre de métrica inválido {name!r}")
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
    for key in labels:
        if not _LABEL_RE.match(key):
            raise MappingError(f"{where}: nombre de etiqueta inválido {key!r}")
        if key in _RESERVED or key.startswith("__"):
            raise MappingError(f"{where}: la etiqueta {key!r} está reservada (la exposición o "
                               "Prometheus la ponen): usa otro nombre")
    m = Mapping(match=match, name=str(name), labels=labels)
    m.match_type = raw.get("match_type") or defaults.get("match_type") or "glob"
    if m.match_type == "glob":
        if not _GLOB_RE.match(match):
            raise MappingError(f"{where}: glob inválido (cada '*' debe ser una parte entre puntos)")
        m.pattern = _glob_to_regex(match)
    elif m.match_type == "regex":
        try:
            m.pattern = re.compile(match)
        except re.error as exc:
            raise MappingError(f"{where}: expresión regular inválida: {exc}") from None
    else:
        raise MappingError(f"{where}: match_type {m.match_type!r} desconocido (glob o regex)")
    mmt = raw.get("match_metric_type")
    if mmt is not None and mmt not in _METRIC_TYPES:
        raise MappingError(f"{where}: match_metric_type {mmt!r} desconocido")
    m.match_metric_type = _METRIC_TYPES.get(mmt) if mmt else None
    m.action = raw.get("action") or "map"
    if m.action not in ("map", "drop"):
        raise MappingError(f"{where}: action {m.action!r} desconocida (map o drop)")
    m.help = str(raw.get("help") or "")
    m.observer_type = raw.get("observer_type") or raw.get("timer_type") or defaults["observer_type"]
    if m.observer_type not in ("", "summary", "histogram"):
        raise MappingError(f"{where}: observer_type {m.observer_type!r} (summary o histogram)")
    summary = raw.get("summary_options") or {}
    histogram = raw.get("histogram_options") or {}
    if m.observer_type == "histogram" and summary:
        raise MappingError(f"{where}: histogram no admite summary_options")
    if m.observer_type == "summary" and histogram:
        raise MappingError(f"{where}: summary no admite histogram_options")
    quantiles = summary.get("quantiles") or raw.get("quantiles")
    m.quantiles = _objectives(quantiles, where) if quantiles else defaults["quantiles"]
    max_age = summary.get("max_age")
    m.max_age_s = parse_duration(max_age) if max_age else defaults["max_age_s"]
    buckets = histogram.get("buckets") or raw.get("buckets")
    m.buckets = tuple(sorted(float(b) for b in buckets)) if buckets else defaults["buckets"]
    m.ttl_s = parse_duration(raw["ttl"]) if raw.get("ttl") else defaults["ttl_s"]
    m.scale = float(raw["scale"]) if raw.get("scale") is not None else None
    m.honor_labels = bool(raw.get("honor_labels", False))
    return m


class Mapper:
    """Resolve StatsD names to Prometheus names and labels with a mapping file.

    Args:
        config: the parsed YAML document (``{"defaults": ..., "mappings": [...]}``).

    Raises:
        MappingError: when the document is invalid.
    """

    CACHE_LIMIT = 20_000

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = config or {}
        if not isinstance(config, dict):
            raise MappingError("el fichero de mapeo debe ser un diccionario con 'mappings:'")
        raw_defaults = config.get("defaults") or {}
        summary = raw_defaults.get("summary_options") or {}
        histogram = raw_defaults.get("histogram_options") or {}
        quantiles = summary.get("quantiles") or raw_defaults.get("quantiles")
        buckets = histogram.get("buckets") or raw_defaults.get("buckets")
        defaults = {
            "observer_type": raw_defaults.get("observer_type") or raw_defaults.get("timer_type")
            or "",
            "match_type": raw_defaults.get("match_type") or "glob",
            "quantiles": _objectives(quantiles, "defaults") if quantiles else DEFAULT_QUANTILES,
            "max_age_s": parse_duration(summary["max_age"]) if summary.get("max_age")
            else DEFAULT_MAX_AGE_S,
            "buckets": tuple(sorted(float(b) for b in buckets)) if buckets else DEFAULT_BUCKETS,
            "ttl_s": parse_duration(raw_defaults["ttl"]) if raw_defaults.get("ttl") else 0.0,
        }
        self.defaults = defaults
        entries = config.get("mappings") or []
        if not isinstance(entries, list):
            raise MappingError("'mappings' debe ser una lista")
        self.mappings = [_build_mapping(i, raw, defaults) for i, raw in enumerate(entries)]
        self._globs = [m for m in self.mappings if m.match_type == "glob"]
        self._regexes = [m for m in self.mappings if m.match_type == "regex"]
        self._cache: dict[tuple[str, str], Resolved | None] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> Mapper:
        """Load a mapping file.

        Raises:
            MappingError: when the file is missing, is not YAML or is invalid.
        """
        path = Path(path)
        try:
            config = yaml.safe_load(path.read_text()) or {}
        except OSError as exc:
            raise MappingError(f"no puedo leer el mapeo {path}: {exc}") from None
        except yaml.YAMLError as exc:
            raise MappingError(f"{path} no es YAML válido: {exc}") from None
        try:
            return cls(config)
        except MappingError as exc:
            raise MappingError(f"{path}: {exc}") from None

    def resolve(self, name: str, kind: str) -> Resolved | None:
        """Find the mapping of a StatsD name.

        Args:
            name: StatsD metric name (tags removed).
            kind: ``counter``, ``gauge`` or ``observer``.

        Returns:
            The matched mapping with its expanded name and labels, or ``None`` when nothing
            matches (the caller then uses the escaped StatsD name).
        """
        key = (name, kind)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = self._find(name, kind)
        if len(self._cache) >= self.CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _find(self, name: str, kind: str) -> Resolved | None:
        for group, search in ((self._globs, False), (self._regexes, True)):
            for m in group:
                if m.match_metric_type and m.match_metric_type != kind:
                    continue
                hit = m.pattern.search(name) if search else m.pattern.match(name)
                if hit is None:
                    continue
                labels = {k: m.expand(v, hit) for k, v in m.labels.items()}
                return Resolved(m, m.expand(m.name, hit), labels)
        return None
