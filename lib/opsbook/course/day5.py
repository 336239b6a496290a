"""Helpers of the day-5 notebook (documentation, audiences, executive deck).

Why this module exists: the notebook keeps only narrative, calls, displays and asserts. Its
parameter validation, the documentation inventory it checks, the independent re-check of the
deck against the facts, the contact sheet of the rendered slides and the day summary live here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsbook.course.week_facts import Fact
from opsbook.settings import settings

DOC_PAGES = (
    "docs/arquitectura.md", "docs/flujo_de_datos.md", "docs/decisiones/README.md",
    "docs/escalabilidad_fiabilidad_mantenibilidad.md", "docs/metricas_de_exito.md",
    "docs/manual_operativo.md", "docs/recuperacion_ante_desastres.md",
    "docs/guia_usuarios_negocio.md", "docs/esquema_resumen.md",
)
"""Documentation pages the project promises (README links them all)."""


def check_params(renderizar: Any, dpi: Any, dias_requeridos: Any) -> dict[str, Any]:
    """Validate the notebook's papermill parameters.

    Args:
        renderizar: bool, render the deck with LibreOffice when it is installed.
        dpi: int 30..200, resolution of the slide images.
        dias_requeridos: int 0..4, days 1–4 that must have a ``resumen.json``.

    Returns:
        The validated values.

    Raises:
        ValueError: in Spanish, naming the parameter to change.
    """
    if not isinstance(renderizar, bool):
        raise ValueError(f"renderizar={renderizar!r}: usa True o False")
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 30 <= dpi <= 200:
        raise ValueError(f"dpi={dpi!r}: usa un entero entre 30 y 200 (p. ej. 50)")
    if (not isinstance(dias_requeridos, int) or isinstance(dias_requeridos, bool)
            or not 0 <= dias_requeridos <= 4):
        raise ValueError(f"dias_requeridos={dias_requeridos!r}: usa un entero de 0 a 4 "
                         "(0 = la presentación tolera días sin ejecutar)")
    return {"renderizar": renderizar, "dpi": dpi, "dias_requeridos": dias_requeridos}


def docs_inventory(root: Path | None = None) -> list[dict[str, Any]]:
    """List the README and every promised docs page with its title and size.

    Args:
        root: project root (default: this checkout).

    Returns:
        One dict per page: ``page``, ``exists``, ``title`` (first ``#`` heading), ``lines``,
        ``linked_from_readme``.
    """
    root = Path(root or settings.root)
    readme = (root / "README.md").read_text(encoding="utf-8")
    out = []
    for page in ("README.md", *DOC_PAGES):
        path = root / page
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        title = next((ln.lstrip("# ").strip() for ln in text.splitlines()
                      if ln.startswith("# ")), "")
        out.append({"page": page, "exists": path.exists(), "title": title,
                    "lines": len(text.splitlines()),
                    "linked_from_readme": page == "README.md" or f"({page})" in readme})
    return out


def readme_starts_with_the_two_commands(root: Path | None = None) -> bool:
    """Whether the README's first code block is ``make run`` then ``make test``."""
    text = (Path(root or settings.root) / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:bash)?\n(.*?)```", text, re.S)
    cmds = [ln.split("#")[0].strip() for ln in block.group(1).splitlines()] if block else []
    return [c for c in cmds if c][:2] == ["make run", "make test"]


def deck_mismatches(pptx: Path, facts: Mapping[str, Fact]) -> list[str]:
    """Re-open the deck and compare every chart with the facts it claims to show.

    Args:
        pptx: the generated presentation.
        facts: the facts the deck was built from.

    Returns:
        A description of each chart whose values are not found among the facts (empty = ok).
    """
    from pptx import Presentation

    expected: list[list[float]] = []
    for fact in facts.values():
        if isinstance(fact.value, dict):
            expected.append([float(v) for v in fact.value.values()])
    tp, tf = facts["tests_passed"].value, facts["tests_failed"].value
    if tp is not None:
        expected.append([float(tp), float(tf or 0)])
    cov, tot = facts["metrics_covered"].value, facts["metrics_total"].value
    if cov is not None:
        expected.append([float(cov), float(max(tot - cov, 0))])
    bg, rs = facts["failed_requests_blue_green"].value, facts["failed_requests_restart"].value
    if bg is not None and rs is not None:
        expected.append([float(bg), float(rs)])
    problems = []
    for n, slide in enumerate(Presentation(pptx).slides, 1):
        for shape in slide.shapes:
            if shape.has_chart:
                values = [float(v) for v in shape.chart.plots[0].series[0].values]
                if values not in expected:
                    problems.append(f"diapositiva {n}: {values} no sale de ningún resumen")
    return problems


def contact_sheet(pages: list[Path], columns: int = 3):
    """Draw the rendered slides as one matplotlib figure (a grid of thumbnails).

    Args:
        pages: PNG pages in order.
        columns: thumbnails per row.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(pages) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.5 * rows))
    flat = list(getattr(axes, "flat", [axes]))
    for ax in flat:
        ax.axis("off")
    for i, (ax, page) in enumerate(zip(flat, pages, strict=False), 1):
        ax.imshow(mpimg.imread(page))
        ax.set_title(f"Diapositiva {i}", fontsize=9)
    fig.suptitle("Presentación ejecutiva renderizada con LibreOffice (16:9)")
    fig.tight_layout()
    return fig


METRICS_DOC = "docs/metricas_de_exito.md"
_MARKED = re.compile(r"(<!-- valores:inicio -->\n).*?(<!-- valores:fin -->)", re.S)


def update_success_metrics(facts: Mapping[str, Fact], doc: Path | None = None) -> Path:
    """Rewrite the measured-values section of ``docs/metricas_de_exito.md`` from the facts.

    Only the text between ``<!-- valores:inicio -->`` and ``<!-- valores:fin -->`` changes,
    so the definitions and objectives written by hand stay as they are.

    Args:
        facts: the week's facts (:func:`opsbook.course.week_facts.week_facts`).
        doc: the Markdown page (default: the project's ``docs/metricas_de_exito.md``).

    Returns:
        The page path.

    Raises:
        ValueError: when the page has no marked section.
    """
    from datetime import date

    from opsbook.course.doccheck import docstring_coverage
    from opsbook.course.week_facts import facts_table_markdown, fmt

    path = Path(doc or settings.root / METRICS_DOC)
    text = path.read_text(encoding="utf-8")
    if not _MARKED.search(text):
        raise ValueError(f"{path} no tiene la sección marcada <!-- valores:inicio --> … "
                         "<!-- valores:fin -->: restáurala antes de actualizar")
    cov = docstring_coverage()
    body = (f"Última tabla confirmada en el repositorio ({date.today().isoformat()}), generada con "
            "`opsbook deck --actualizar-docs` a partir de los `resumen.json` medidos en ese "
            "momento. Las filas «sin datos» se rellenan con `make run`; la tabla viva de cada "
            "ejecución está en `evidencia/dia_5/metricas_de_exito.md`.\n\n"
            + facts_table_markdown(facts)
            + f"| Cobertura de docstrings de `lib/opsbook` | {fmt(round(cov.percent, 1), '%')} "
              f"({cov.documented} de {cov.total}) | `opsbook.course.doccheck` |\n")
    path.write_text(_MARKED.sub(lambda m: m.group(1) + body + m.group(2), text), encoding="utf-8")
    return path
