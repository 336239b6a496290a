"""Data types of the executive deck and its six evidence slides (one per commitment).

Why this module exists: each evidence slide turns one group of measured facts (tests,
observability, recovery, zero downtime, scale-out, schema compatibility) into a conclusion
title plus a chart or table, and says so on the slide when the figure is missing. Kept apart
from the SCQA frame (:mod:`opsbook.course.deck_story`) so each module stays small.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from opsbook.course.days import COURSE_NOTEBOOKS
from opsbook.course.week_facts import Fact, fmt


@dataclass(frozen=True)
class ChartSpec:
    """A native column chart.

    Attributes:
        categories: x-axis labels.
        series: series name → values (same length as ``categories``).
        y_title: axis title with its unit.
        number_format: Excel number format of the data labels.
    """

    categories: tuple[str, ...]
    series: dict[str, tuple[float, ...]]
    y_title: str
    number_format: str = "0.0"


@dataclass(frozen=True)
class SlideSpec:
    """One slide: a conclusion title plus bullets, a chart or a table.

    Attributes:
        title: the conclusion (never a generic "Resultados").
        section: SCQA part or evidence theme (shown small above the content).
        bullets: short lines (at most five).
        chart: optional chart.
        table: optional rows; the first row is the header.
        sources: ``dia_N/resumen.json:key`` of every figure shown.
        missing_days: days whose summary was needed and absent.
    """

    title: str
    section: str
    bullets: tuple[str, ...] = ()
    chart: ChartSpec | None = None
    table: tuple[tuple[str, ...], ...] = ()
    sources: tuple[str, ...] = ()
    missing_days: tuple[int, ...] = field(default=())


def _missing(day: int, theme: str, present: list[int]) -> SlideSpec:
    nb = COURSE_NOTEBOOKS[day]
    if day in present:
        return SlideSpec(
            title=f"Día {day} sin la cifra necesaria: aún no podemos afirmar nada sobre {theme}",
            section=theme.capitalize(),
            bullets=(f"evidencia/dia_{day}/resumen.json existe pero no trae las claves "
                     "esperadas (docs/esquema_resumen.md).",
                     "Preferimos una diapositiva vacía a una cifra inventada."),
            missing_days=(day,),
        )
    return SlideSpec(
        title=f"Día {day} sin datos medidos: todavía no podemos afirmar nada sobre {theme}",
        section=theme.capitalize(),
        bullets=(f"No existe evidencia/dia_{day}/resumen.json.",
                 f"Ejecuta notebooks/{nb}/{nb}.ipynb (make run) y vuelve a generar la "
                 "presentación.",
                 "Preferimos una diapositiva vacía a una cifra inventada."),
        missing_days=(day,),
    )


def sources(*facts: Fact) -> tuple[str, ...]:
    """The ``dia_N/resumen.json:key`` of each fact that was found."""
    return tuple(f.source for f in facts if f.source)


def _tests(f: Mapping[str, Fact], present: list[int]) -> SlideSpec:
    passed, failed, secs = f["tests_passed"], f["tests_failed"], f["suite_seconds"]
    if not passed.present:
        return _missing(1, "las pruebas", present)
    n_failed = failed.value or 0
    total = passed.value + n_failed
    if n_failed == 0:
        title = (f"Las {passed.value} pruebas automáticas pasan en {fmt(secs.value, 's')}: "
                 "los errores se detectan antes de producción")
    else:
        title = (f"{n_failed} de {total} pruebas fallan: hay que corregirlas antes de "
                 "desplegar")
    chart = ChartSpec(("Pasan", "Fallan"), {"Pruebas": (float(passed.value), float(n_failed))},
                      "pruebas (número)", "0")
    return SlideSpec(title, "Calidad (día 1)", chart=chart,
                     bullets=("DAGs, transformaciones y reglas de alerta se prueban en cada "
                              "cambio.",),
                     sources=sources(passed, failed, secs))


def _observability(f: Mapping[str, Fact], present: list[int]) -> SlideSpec:
    cov, total, lat = f["metrics_covered"], f["metrics_total"], f["alert_latency_s"]
    if not cov.present and not lat.present:
        return _missing(2, "la observabilidad", present)
    parts = []
    if cov.present:
        parts.append(f"vemos {cov.value} de {total.value} métricas del pipeline")
    if lat.present:
        parts.append(f"una alerta llega en {fmt(lat.value, 's')}")
    title = " y ".join(parts)
    title = title[0].upper() + title[1:]
    chart = None
    if cov.present:
        chart = ChartSpec(("Observadas", "Sin observar"),
                          {"Métricas": (float(cov.value), float(max(total.value - cov.value, 0)))},
                          "métricas (número)", "0")
    return SlideSpec(title, "Observabilidad (día 2)", chart=chart,
                     bullets=("Un fallo se ve en el panel y avisa al equipo sin que nadie "
                              "mire.",),
                     sources=sources(cov, total, lat))


def _recovery(f: Mapping[str, Fact], present: list[int]) -> SlideSpec:
    mttr = f["mttr_s"]
    if not mttr.present:
        return _missing(3, "la recuperación (MTTR)", present)
    worst = max(mttr.value, key=mttr.value.get)
    title = (f"El runbook recupera el pipeline en {fmt(mttr.value[worst], 's')} como máximo "
             f"({len(mttr.value)} simulacros)")
    chart = ChartSpec(tuple(k or "simulacro" for k in mttr.value),
                      {"MTTR (s)": tuple(mttr.value.values())}, "MTTR (segundos)")
    return SlideSpec(title, "Recuperación (día 3)", chart=chart,
                     bullets=(f"Peor caso: {worst or 'simulacro'}.",),
                     sources=sources(mttr))


def _deploy(f: Mapping[str, Fact], present: list[int]) -> SlideSpec:
    bg, rs = f["failed_requests_blue_green"], f["failed_requests_restart"]
    if not bg.present:
        return _missing(4, "el despliegue sin cortes", present)
    if rs.present:
        lost = "no perdió ninguna petición" if bg.value == 0 else f"perdió {bg.value} peticiones"
        title = f"El despliegue blue-green {lost}; el reinicio en sitio perdió {rs.value}"
        chart = ChartSpec(("Blue-green", "Reinicio en sitio"),
                          {"Peticiones fallidas": (float(bg.value), float(rs.value))},
                          "peticiones fallidas (número)", "0")
    else:
        title = f"El despliegue blue-green perdió {bg.value} peticiones"
        chart = None
    return SlideSpec(title, "Despliegue sin cortes (día 4)", chart=chart,
                     bullets=("Los usuarios siguen trabajando mientras publicamos una "
                              "versión.",),
                     sources=sources(bg, rs))


_LABEL_WORDS = {"io": "E/S", "cpu": "CPU"}


def _pretty(key: str) -> str:
    """``io_1x8`` → ``E/S 1×8``; ``4`` → ``4 workers``; empty → ``escalado``."""
    if not key:
        return "escalado"
    if key.isdigit():
        return f"{key} workers"
    words = [_LABEL_WORDS.get(w, w) for w in key.split("_")]
    return " ".join(re.sub(r"(?<=\d)x(?=\d)", "×", w) for w in words)


def _scale(f: Mapping[str, Fact], present: list[int]) -> SlideSpec:
    sp = f["speedups"]
    if not sp.present:
        return _missing(4, "el escalado", present)
    best = max(sp.value, key=sp.value.get)
    where = f" ({_pretty(best)})" if best else ""
    title = (f"Añadir capacidad acelera el lote hasta {fmt(sp.value[best], '×')}{where} "
             "frente a la configuración base")
    chart = ChartSpec(tuple(_pretty(k) for k in sp.value),
                      {"Aceleración (×)": tuple(sp.value.values())}, "aceleración (veces)")
    bullets = ["Más volumen no exige esperar más: se añade capacidad."]
    if any(k.startswith("cpu") for k in sp.value):
        bullets.append("Las tareas de CPU escalan menos: el techo son los núcleos.")
    return SlideSpec(title, "Escalado (día 4)", chart=chart, bullets=tuple(bullets),
                     sources=sources(sp))


def _schema_rows(verdicts: Mapping[str, bool]) -> tuple[tuple[str, ...], ...]:
    if len(verdicts) <= 8:
        return (("Cambio", "Veredicto"),) + tuple(
            (name, "compatible" if v else "incompatible (bloqueado)")
            for name, v in verdicts.items())
    groups: dict[str, list[bool]] = {}
    for name, v in verdicts.items():
        groups.setdefault(name.split()[0] if name.split() else name, []).append(bool(v))
    return (("Versión", "Comprobaciones compatibles"),) + tuple(
        (g, f"{sum(vs)} de {len(vs)}" + ("" if all(vs) else " — se bloquea si el modo lo exige"))
        for g, vs in groups.items())


def _schema(f: Mapping[str, Fact], present: list[int]) -> SlideSpec:
    sc = f["schema_compatibility"]
    if not sc.present:
        return _missing(4, "la compatibilidad de esquemas", present)
    ok = sum(1 for v in sc.value.values() if v)
    bad = len(sc.value) - ok
    what = "cambios de esquema" if len(sc.value) <= 8 else "comprobaciones de esquema"
    title = (f"{ok} de {len(sc.value)} {what} son compatibles; "
             f"{bad} se bloquea{'n' if bad != 1 else ''} antes de cargar")
    return SlideSpec(title, "Versionado de datos (día 4)", table=_schema_rows(sc.value),
                     sources=sources(sc))


def evidence_slides(facts: Mapping[str, Fact], present: list[int]) -> list[SlideSpec]:
    """The six evidence slides, in story order.

    Args:
        facts: the week's facts.
        present: days whose ``resumen.json`` exists.

    Returns:
        Tests, observability, recovery, zero downtime, scale-out and schema slides.
    """
    return [fn(facts, present) for fn in (_tests, _observability, _recovery, _deploy, _scale,
                                          _schema)]

