"""The week's measured facts, read from each day's ``evidencia/dia_N/resumen.json``.

Why this module exists: the executive deck, the three-audience explanations, the success
metrics table and the day-5 notebook all talk about the same figures (tests passed, alert
latency, MTTR, zero-downtime result, scale-out speed-up, schema compatibility). They must come
from what the notebooks *measured*, never from numbers typed into code, and a missing day must
show up as "sin datos" instead of an invented value. This module is the one documented schema
of the keys each day is expected to write (``SCHEMA``; also in ``docs/esquema_resumen.md``),
with a few accepted spellings per fact so teammates' summaries are read without coupling.

A fact's ``source`` names the file and key it came from, so a reader (or a test) can check
every figure of the deck against its JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from opsbook import evidence
from opsbook.evidence import SUMMARY_FILE
from opsbook.observability import catalog

Kind = Literal["number", "count", "mapping", "verdicts"]
DAYS = (1, 2, 3, 4)
"""Days whose summaries feed the week's story (day 5 is the story itself)."""


@dataclass(frozen=True)
class FactSpec:
    """One expected figure of a day's ``resumen.json``.

    Attributes:
        key: identifier used by the deck and the docs (snake_case English).
        day: course day that measures it.
        paths: accepted dotted key paths inside the summary, first match wins.
        kind: ``number`` (float), ``count`` (int, or the length of a list), ``mapping``
            (name → number; also a list of ``{"name"|"drill"|..., "<value>"}`` items) or
            ``verdicts`` (name → bool/"compatible"...).
        label: Spanish label for tables and slides.
        unit: display unit (``s``, ``×``, ``""``).
    """

    key: str
    day: int
    paths: tuple[str, ...]
    kind: Kind
    label: str
    unit: str = ""


SCHEMA: tuple[FactSpec, ...] = (
    FactSpec("tests_passed", 1, ("tests_passed", "tests.passed", "passed"), "count",
             "Pruebas que pasan"),
    FactSpec("tests_failed", 1, ("tests_failed", "tests.failed", "failed"), "count",
             "Pruebas que fallan"),
    FactSpec("suite_seconds", 1, ("suite_seconds", "suite_s", "tests.seconds", "duration_s"),
             "number", "Duración de la batería de pruebas", "s"),
    FactSpec("metrics_covered", 2, ("metrics_covered", "metrics_seen", "metrics.covered"),
             "count", "Métricas del catálogo observadas en Prometheus"),
    FactSpec("metrics_total", 2, ("metrics_total", "metrics.total", "metrics_covered#den"),
             "count", "Métricas del catálogo"),
    FactSpec("alert_latency_s", 2, ("alert_latency_s", "alert.latency_s", "alert_latency_seconds"),
             "number", "Latencia de una alerta (evento → notificación)", "s"),
    FactSpec("mttr_s", 3, ("mttr_s", "mttr_by_drill", "drills"), "mapping",
             "MTTR por simulacro", "s"),
    FactSpec("failed_requests_blue_green", 4,
             ("failed_requests_blue_green", "despliegue.blue_green_failed",
              "blue_green.failed_requests", "deploy.blue_green"),
             "count", "Peticiones fallidas con blue-green"),
    FactSpec("failed_requests_restart", 4,
             ("failed_requests_restart", "despliegue.naive_restart_failed",
              "restart.failed_requests", "deploy.restart"),
             "count", "Peticiones fallidas con reinicio en sitio"),
    FactSpec("speedups", 4, ("speedups", "escalado.speedup_*", "speedup", "scaling.speedups"),
             "mapping", "Aceleración al escalar (frente a la configuración base)", "×"),
    FactSpec("schema_compatibility", 4,
             ("schema_compatibility", "schema_checks", "schema.compatibility"), "verdicts",
             "Compatibilidad de cambios de esquema"),
)
BY_KEY: dict[str, FactSpec] = {s.key: s for s in SCHEMA}

_NAME_KEYS = ("name", "drill", "scenario", "workers", "change", "id")
_VALUE_KEYS = ("mttr_s", "value", "seconds", "speedup", "compatible")
_TRUE_WORDS = {"compatible", "ok", "true", "yes", "sí", "si", "passed", "backward", "full"}


@dataclass(frozen=True)
class Fact:
    """A figure found (or not) in a day's summary.

    Attributes:
        spec: what was expected.
        value: normalised value (float, int, dict) or ``None`` when missing.
        source: ``dia_N/resumen.json:<path>`` when found, else ``None``.
    """

    spec: FactSpec
    value: Any
    source: str | None

    @property
    def present(self) -> bool:
        """Whether the summary provided this figure."""
        return self.value is not None


_FRACTION = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    """Follow a dotted path through a summary.

    ``a.prefix_*`` collects the keys of ``a`` that start with ``prefix_`` (prefix removed);
    an ``"n/m"`` string reads as ``n``, or as ``m`` with the ``#den`` suffix.
    """
    path, _, suffix = path.partition("#")
    node: Any = data
    for part in path.split("."):
        if part.endswith("*") and isinstance(node, Mapping):
            prefix = part[:-1]
            found = {k[len(prefix):]: v for k, v in node.items() if k.startswith(prefix)}
            return found or None
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, str) and (match := _FRACTION.match(node)):
        return int(match.group(2 if suffix == "den" else 1))
    return None if suffix else node


def _items(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, Mapping):
        return {str(k): v for k, v in raw.items()}
    if isinstance(raw, list) and all(isinstance(i, Mapping) for i in raw):
        out = {}
        for item in raw:
            name = next((item[k] for k in _NAME_KEYS if k in item), None)
            value = next((item[k] for k in _VALUE_KEYS if k in item), None)
            if name is not None and value is not None:
                out[str(name)] = value
        return out or None
    return None


def normalise(kind: Kind, raw: Any) -> Any:
    """Turn a raw JSON value into the fact's kind, or ``None`` when it does not fit.

    Args:
        kind: the expected kind (see :class:`FactSpec`).
        raw: the value found in the summary.

    Returns:
        ``float``/``int``/``dict`` according to ``kind``; ``None`` if ``raw`` cannot be read.
    """
    if raw is None or isinstance(raw, bool) and kind != "verdicts":
        return None
    if kind == "number":
        return float(raw) if isinstance(raw, int | float) else None
    if kind == "count":
        if isinstance(raw, list | tuple | Mapping):
            return len(raw)
        return int(raw) if isinstance(raw, int | float) else None
    items = _items(raw)
    if kind == "mapping":
        if isinstance(raw, int | float):
            return {"": float(raw)}
        if items is None:
            return None
        numbers = {k: float(v) for k, v in items.items() if isinstance(v, int | float)
                   and not isinstance(v, bool)}
        return numbers or None
    if items is None:
        return None
    return {k: (v if isinstance(v, bool) else str(v).strip().lower() in _TRUE_WORDS)
            for k, v in items.items()}


def load_summaries(days: tuple[int, ...] = DAYS) -> dict[int, dict[str, Any] | None]:
    """Read every day's ``resumen.json`` from the evidence folder (``None`` when absent).

    Args:
        days: the days to read.

    Returns:
        Day → parsed summary, or ``None`` when the notebook has not run yet or the file is
        not valid JSON.
    """
    out: dict[int, dict[str, Any] | None] = {}
    for day in days:
        try:
            out[day] = evidence.read_summary(day)
        except (FileNotFoundError, json.JSONDecodeError):
            out[day] = None
    return out


def extract(summaries: Mapping[int, Mapping[str, Any] | None]) -> dict[str, Fact]:
    """Find every fact of :data:`SCHEMA` in the given summaries.

    Args:
        summaries: day → summary as returned by :func:`load_summaries`.

    Returns:
        Fact key → :class:`Fact` (``value=None`` when the day or the key is missing). When
        day 2 does not say how many metrics exist, ``metrics_total`` falls back to the size
        of the metric catalog (source ``opsbook.observability.catalog``).
    """
    facts: dict[str, Fact] = {}
    for spec in SCHEMA:
        summary = summaries.get(spec.day) or {}
        found = Fact(spec, None, None)
        for path in spec.paths:
            value = normalise(spec.kind, _lookup(summary, path))
            if value is not None:
                found = Fact(spec, value, f"dia_{spec.day}/{SUMMARY_FILE}:{path}")
                break
        facts[spec.key] = found
    if not facts["metrics_total"].present:
        facts["metrics_total"] = Fact(BY_KEY["metrics_total"], len(catalog.METRICS),
                                      "opsbook.observability.catalog:METRICS")
    return facts


def week_facts() -> dict[str, Fact]:
    """Read the evidence folder and return the week's facts (see :func:`extract`)."""
    return extract(load_summaries())


def fmt(value: float | int | None, unit: str = "") -> str:
    """Format a figure the Spanish way (decimal comma), or ``"sin datos"`` when missing.

    Args:
        value: the number.
        unit: appended after a space (``s``) or glued (``×``).

    Returns:
        ``"1,9 s"``, ``"12"``, ``"3,4×"``, ``"sin datos"``.
    """
    if value is None:
        return "sin datos"
    if isinstance(value, int) or float(value).is_integer() and unit not in ("s", "×"):
        text = f"{int(value)}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    else:
        text = f"{value:.1f}".replace(".", ",")
    if not unit:
        return text
    return f"{text}{unit}" if unit == "×" else f"{text} {unit}"


def days_present(summaries: Mapping[int, Any]) -> list[int]:
    """Days whose summary exists, in order."""
    return [d for d in sorted(summaries) if summaries[d]]


def facts_table_markdown(facts: Mapping[str, Fact]) -> str:
    """Render the facts as the Markdown success-metrics table used by the docs.

    Args:
        facts: as returned by :func:`extract`.

    Returns:
        A Markdown table: figure, measured value, source.
    """
    rows = ["| indicador | valor medido | fuente |", "|---|---|---|"]
    for fact in facts.values():
        value = fact.value
        if fact.spec.kind == "verdicts" and value:
            bad = [k for k, v in value.items() if not v]
            shown = f"{len(value) - len(bad)} de {len(value)} compatibles"
            if bad:
                shown += " (incompatibles: " + ", ".join(bad[:6]) + (", …" if len(bad) > 6
                                                                       else "") + ")"
        elif isinstance(value, dict):
            shown = ", ".join(
                f"{k or 'total'}: {v if isinstance(v, bool) else fmt(v, fact.spec.unit)}"
                for k, v in value.items()
            )
        else:
            shown = fmt(value, fact.spec.unit)
        rows.append(f"| {fact.spec.label} | {shown} | `{fact.source or 'sin datos'}` |")
    return "\n".join(rows) + "\n"
