"""One technical concept explained for three audiences, from the same measured facts.

Why this module exists: day 5 teaches that the *facts* do not change with the audience, only
the language, the level of detail and the focus do: engineers want the mechanism, business
wants the operational impact, executives want value and risk. Each :class:`Explanation`
carries one shared key figure (taken from :mod:`opsbook.course.week_facts` or from the measured
docstring coverage) that all three texts quote, so the notebook can prove the versions agree.

Concepts (from the syllabus): refactoring, performance/latency and technical debt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opsbook.course.doccheck import Coverage
from opsbook.course.week_facts import Fact, fmt

AUDIENCES = ("técnico", "negocio", "ejecutivo")
"""Audience names, in the order they are shown."""


@dataclass(frozen=True)
class Explanation:
    """A concept told three ways.

    Attributes:
        concept: Spanish name (``Refactorización``...).
        figure: the shared key figure every text quotes (``"sin datos"`` when not measured).
        texts: audience → text (keys :data:`AUDIENCES`).
        sources: where the figure came from.
    """

    concept: str
    figure: str
    texts: dict[str, str]
    sources: tuple[str, ...]

    def consistent(self) -> bool:
        """Whether every audience's text quotes the shared figure."""
        return all(self.figure in self.texts[a] for a in AUDIENCES)


def _refactoring(f: Mapping[str, Fact]) -> Explanation:
    passed, secs = f["tests_passed"], f["suite_seconds"]
    if passed.present:
        figure = f"{passed.value} pruebas"
        tech = (f"La lógica salió de los cuadernos a `lib/opsbook` (funciones puras, importables); "
                f"{figure} la cubren y corren en {fmt(secs.value, 's')}, así que cada "
                "refactorización se valida antes de integrarse.")
        biz = (f"Reorganizamos el código sin cambiar lo que hace; {figure} automáticas "
               "confirman que los informes siguen saliendo igual, sin revisión manual.")
        exe = (f"Inversión de mantenimiento con red de seguridad ({figure}): cambiar el pipeline "
               "cuesta menos y con menos riesgo de romper los datos de negocio.")
    else:
        figure = "sin datos"
        tech = biz = exe = ("Refactorización: sin datos del día 1 (pruebas); ejecuta su cuaderno "
                            "antes de afirmar que los cambios son seguros.")
    return Explanation("Refactorización", figure, {"técnico": tech, "negocio": biz,
                                                   "ejecutivo": exe}, (passed.source or "",))


def _latency(f: Mapping[str, Fact]) -> Explanation:
    lat, mttr = f["alert_latency_s"], f["mttr_s"]
    if lat.present:
        figure = fmt(lat.value, "s")
        worst = fmt(max(mttr.value.values()), "s") if mttr.present else "sin datos"
        tech = (f"Del evento StatsD a la notificación del webhook pasan {figure} (intervalos de "
                f"1 s en bridge, Prometheus y Alertmanager); el runbook automático cierra el "
                f"incidente en {worst} como máximo (MTTR).")
        biz = (f"Si el pipeline falla, el equipo lo sabe en {figure}, antes de que nadie abra "
               "un informe vacío, y la recuperación automática evita esperar a una persona.")
        exe = (f"Detección en {figure}: reducimos la ventana en que el negocio decide con datos "
               "incompletos, el principal riesgo operativo del pipeline.")
    else:
        figure = "sin datos"
        tech = biz = exe = ("Latencia: sin datos del día 2 (alertas); ejecuta su cuaderno antes "
                            "de prometer tiempos de detección.")
    return Explanation("Rendimiento y latencia", figure, {"técnico": tech, "negocio": biz,
                                                          "ejecutivo": exe},
                       tuple(s for s in (lat.source, mttr.source) if s))


def _debt(f: Mapping[str, Fact], cov: Coverage | None) -> Explanation:
    failed = f["tests_failed"].value
    if cov is not None:
        figure = f"{fmt(round(cov.percent, 1), '%')}".replace(" %", " %")
        undocumented = cov.total - cov.documented
        tech = (f"Docstrings Google en {figure} de {cov.total} elementos públicos de "
                f"`lib/opsbook` ({undocumented} sin documentar), exigidos por ruff (reglas D) en "
                "`make test`" + (f"; además fallan {failed} pruebas." if failed else "."))
        biz = (f"El {figure} del código explica qué hace y por qué; una persona nueva puede "
               "mantener el pipeline sin depender de quien lo escribió.")
        exe = (f"Deuda técnica controlada ({figure} del código documentado y verificado en cada "
               "cambio): menor riesgo de dependencia de personas clave y menor coste futuro.")
    else:
        figure = "sin datos"
        tech = biz = exe = "Deuda técnica: sin medir (falta la cobertura de docstrings)."
    return Explanation("Deuda técnica", figure, {"técnico": tech, "negocio": biz,
                                                 "ejecutivo": exe}, ("opsbook.course.doccheck",))


def explain(facts: Mapping[str, Fact], coverage: Coverage | None) -> list[Explanation]:
    """Explain refactoring, latency and technical debt for the three audiences.

    Args:
        facts: the week's facts (:func:`opsbook.course.week_facts.extract`).
        coverage: docstring coverage measured now
            (:func:`opsbook.course.doccheck.docstring_coverage`).

    Returns:
        One :class:`Explanation` per concept.
    """
    return [_refactoring(facts), _latency(facts), _debt(facts, coverage)]


def as_markdown(explanations: list[Explanation]) -> str:
    """Render the explanations as a Markdown section (one table row per audience).

    Args:
        explanations: as returned by :func:`explain`.

    Returns:
        Markdown text for ``IPython.display.Markdown`` or a docs page.
    """
    parts = []
    for exp in explanations:
        parts.append(f"#### {exp.concept} — cifra común: **{exp.figure}**\n")
        parts.append("| audiencia | mensaje |\n|---|---|")
        parts += [f"| {a} | {exp.texts[a]} |" for a in AUDIENCES]
        parts.append("")
    return "\n".join(parts)
