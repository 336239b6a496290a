"""The SCQA story of the executive deck, built from the week's measured facts.

Why this module exists: what the deck *says* (one idea per slide, titles that state the
conclusion, every figure traced to its ``resumen.json``) is separate from how python-pptx
*draws* it (:mod:`opsbook.deck`). The story is plain data, so it is easy to test and to reuse
(the notebook prints it, the docs table comes from the same facts). When a day has no summary
the slide says so in its title instead of inventing a number.

Story: Situación → Complicación → Pregunta → Respuesta (one summary table), then one evidence
slide per commitment (tests, observability, recovery, zero downtime, scale-out, schema), and a
final slide of risks and next steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from opsbook.notebooks import COURSE_NOTEBOOKS
from opsbook.week_facts import DAYS, Fact, fmt


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


def _src(*facts: Fact) -> tuple[str, ...]:
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
                     sources=_src(passed, failed, secs))


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
                     sources=_src(cov, total, lat))


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
                     sources=_src(mttr))


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
                     sources=_src(bg, rs))


def _scale(f: Mapping[str, Fact], present: list[int]) -> SlideSpec:
    sp = f["speedups"]
    if not sp.present:
        return _missing(4, "el escalado", present)
    best = max(sp.value, key=sp.value.get)
    where = f" con {best} workers" if best else ""
    title = f"Escalar{where} acelera el lote {fmt(sp.value[best], '×')} frente a un solo worker"
    chart = ChartSpec(tuple(k or "escalado" for k in sp.value),
                      {"Aceleración (×)": tuple(sp.value.values())}, "aceleración (veces)")
    return SlideSpec(title, "Escalado (día 4)", chart=chart,
                     bullets=("Más volumen no exige esperar más: se añaden workers.",),
                     sources=_src(sp))


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
                     sources=_src(sc))


def _verdict(ok: bool | None) -> str:
    return {True: "cumple", False: "no cumple", None: "sin datos"}[ok]


def _answer(f: Mapping[str, Fact]) -> SlideSpec:
    def val(key: str):
        return f[key].value

    rows = []
    failed = val("tests_failed") or 0
    rows.append(("Calidad: las pruebas pasan",
                 f"{val('tests_passed')} pasan, {failed} fallan" if f["tests_passed"].present
                 else "sin datos",
                 _verdict(None if not f["tests_passed"].present else failed == 0)))
    cov = f["metrics_covered"]
    rows.append(("Observabilidad: se ven todas las métricas",
                 f"{cov.value} de {val('metrics_total')}" if cov.present else "sin datos",
                 _verdict(None if not cov.present else cov.value >= val("metrics_total"))))
    lat = f["alert_latency_s"]
    rows.append(("Alerta: el equipo se entera solo", fmt(lat.value, "s"),
                 _verdict(None if not lat.present else True)))
    mttr = f["mttr_s"]
    rows.append(("Recuperación: el runbook restaura el servicio",
                 f"MTTR máx. {fmt(max(mttr.value.values()), 's')}" if mttr.present
                 else "sin datos", _verdict(None if not mttr.present else True)))
    bg = f["failed_requests_blue_green"]
    rows.append(("Despliegue sin cortes", f"{bg.value} peticiones fallidas" if bg.present
                 else "sin datos", _verdict(None if not bg.present else bg.value == 0)))
    sp = f["speedups"]
    rows.append(("Escalado: más workers, menos espera",
                 f"hasta {fmt(max(sp.value.values()), '×')}" if sp.present else "sin datos",
                 _verdict(None if not sp.present else max(sp.value.values()) > 1)))
    ok = sum(1 for r in rows if r[2] == "cumple")
    measured = sum(1 for r in rows if r[2] != "sin datos")
    title = f"Respuesta: {ok} de {len(rows)} compromisos se cumplen con datos medidos"
    if measured < len(rows):
        title += f" ({len(rows) - measured} sin medir)"
    srcs = _src(*(f[k] for k in ("tests_passed", "tests_failed", "metrics_covered",
                                 "metrics_total", "alert_latency_s", "mttr_s",
                                 "failed_requests_blue_green", "speedups")))
    return SlideSpec(title, "Respuesta", table=(("Compromiso", "Medida", "Resultado"), *rows),
                     sources=srcs)


def _risks(f: Mapping[str, Fact], missing: list[int]) -> SlideSpec:
    bullets = []
    if missing:
        bullets.append("Sin medir: día " + ", ".join(map(str, missing))
                       + " — ejecutar sus cuadernos antes de decidir.")
    if (f["tests_failed"].value or 0) > 0:
        bullets.append(f"{f['tests_failed'].value} pruebas fallan: bloquear despliegues hasta "
                       "corregirlas.")
    cov = f["metrics_covered"]
    if cov.present and cov.value < f["metrics_total"].value:
        bullets.append("Hay métricas sin observar: completar la instrumentación.")
    bullets += [
        "Riesgo: todo corre en una sola máquina; siguiente paso, metadatos en PostgreSQL y "
        "workers Celery en varios nodos.",
        "Riesgo: la guardia depende de pocas personas; siguiente paso, rotación y runbooks "
        "revisados cada trimestre.",
        "Siguiente paso: acordar SLO con negocio y publicar el panel de Grafana.",
    ]
    return SlideSpec("Riesgos y próximos pasos: consolidar antes de ampliar el alcance",
                     "Riesgos y próximos pasos", bullets=tuple(bullets[:5]))


def story(facts: Mapping[str, Fact], present_days: list[int],
          today: date | None = None) -> list[SlideSpec]:
    """Build the deck's slides from the facts.

    Args:
        facts: as returned by :func:`opsbook.week_facts.extract`.
        present_days: days whose ``resumen.json`` exists.
        today: date printed on the cover (default: today).

    Returns:
        The slides in order: cover, S, C, Q, A, six evidence slides, risks.
    """
    missing = [d for d in DAYS if d not in present_days]
    stamp = (today or date.today()).isoformat()
    cover_title = ("El pipeline de ventas ya se prueba, se vigila, se recupera y escala"
                   if not missing else
                   f"Pipeline de ventas: {len(DAYS) - len(missing)} de {len(DAYS)} días "
                   "con resultados medidos")
    return [
        SlideSpec(cover_title, "Semana 4 · Operación profesional de pipelines",
                  bullets=(f"Generada desde evidencia/dia_N/resumen.json · {stamp}",)),
        SlideSpec("Situación: el negocio decide cada día con los datos del pipeline de ventas",
                  "Situación",
                  bullets=("El pipeline extrae, valida y carga las ventas de cada día.",
                           "Finanzas y operaciones leen esos datos cada mañana.",
                           "Corre en Airflow 3 con métricas en Prometheus.")),
        SlideSpec("Complicación: un fallo silencioso llegaba antes al cliente que al equipo",
                  "Complicación",
                  bullets=("Sin pruebas, un cambio roto llegaba a producción.",
                           "Sin métricas ni alertas, nadie sabía que el dato faltaba.",
                           "Sin runbook, cada incidente dependía de quién estuviera.")),
        SlideSpec("Pregunta: ¿podemos detectar, recuperar y crecer sin detener el negocio?",
                  "Pregunta",
                  bullets=("¿Detectamos los errores antes que el cliente?",
                           "¿Cuánto tardamos en recuperarnos de una caída?",
                           "¿Podemos publicar y escalar sin cortar el servicio?")),
        _answer(facts),
        _tests(facts, present_days),
        _observability(facts, present_days),
        _recovery(facts, present_days),
        _deploy(facts, present_days),
        _scale(facts, present_days),
        _schema(facts, present_days),
        _risks(facts, missing),
    ]
