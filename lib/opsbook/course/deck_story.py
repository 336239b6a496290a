"""The SCQA story of the executive deck, built from the week's measured facts.

Why this module exists: what the deck *says* (one idea per slide, titles that state the
conclusion, every figure traced to its ``resumen.json``) is separate from how python-pptx
*draws* it (:mod:`opsbook.course.deck`). The story is plain data, so it is easy to test and to reuse
(the notebook prints it, the docs table comes from the same facts). When a day has no summary
the slide says so in its title instead of inventing a number.

Story: Situación → Complicación → Pregunta → Respuesta (one summary table), then one evidence
slide per commitment (tests, observability, recovery, zero downtime, scale-out, schema), and a
final slide of risks and next steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from opsbook.course.deck_slides import ChartSpec, SlideSpec, evidence_slides, sources
from opsbook.course.week_facts import DAYS, Fact, fmt

__all__ = ["ChartSpec", "SlideSpec", "story"]

ALERT_TARGET_S = 60
"""Objective (not a measurement): a failure reaches the team in under a minute."""


def _sev1_mttr_target_s() -> float:
    """SEV-1 recovery objective from the incident catalog (``mttr_objetivo_min``)."""
    try:
        from opsbook.incidents.catalog import catalog

        return float(catalog().severity_scale["SEV-1"]["mttr_objetivo_min"]) * 60
    except Exception:  # catalog missing or malformed: fall back to the documented 30 min
        return 30 * 60.0


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
    rows.append((f"Alerta: el equipo se entera en < {fmt(ALERT_TARGET_S, 's')}",
                 fmt(lat.value, "s"),
                 _verdict(None if not lat.present else lat.value < ALERT_TARGET_S)))
    mttr = f["mttr_s"]
    mttr_target = _sev1_mttr_target_s()
    rows.append((f"Recuperación en < {fmt(mttr_target / 60, 'min')} (SEV-1)",
                 f"MTTR máx. {fmt(max(mttr.value.values()), 's')}" if mttr.present
                 else "sin datos",
                 _verdict(None if not mttr.present else max(mttr.value.values()) < mttr_target)))
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
    srcs = sources(*(f[k] for k in ("tests_passed", "tests_failed", "metrics_covered",
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
        facts: as returned by :func:`opsbook.course.week_facts.extract`.
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
        *evidence_slides(facts, present_days),
        _risks(facts, missing),
    ]
