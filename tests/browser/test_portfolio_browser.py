"""The student portfolio page opened in a real Chromium (Playwright), and its PDF."""

from __future__ import annotations

import nbformat
import pytest
from opsbook.course import portfolio


def executed_notebook() -> nbformat.NotebookNode:
    """An executed day-1 notebook with one solution cell and one hidden-test cell."""
    def cell(source: str, **meta) -> nbformat.NotebookNode:
        made = nbformat.v4.new_code_cell(source)
        made.metadata["nbgrader"] = {"schema_version": 3, **meta}
        return made

    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## 7. Ejercicio 2 · Una regla de validación"),
        cell("x = 1  # MI_SOLUCION", grade=False, grade_id="ej2_solucion", solution=True),
        cell("### BEGIN HIDDEN TESTS\nassert SECRETO_OCULTO\n### END HIDDEN TESTS", grade=True,
             grade_id="ej2_ocultas", points=3, solution=False),
    ])


@pytest.fixture
def written(tmp_path):
    grades = tmp_path / "calificaciones"
    (grades / "ana" / "dia_1").mkdir(parents=True)
    nbformat.write(executed_notebook(), grades / "ana" / "dia_1" / "ejecutado.ipynb")
    (grades / "calificaciones.csv").write_text(
        "alumno,dia,ejercicio,criterio,puntos,maximo\n"
        "ana,1,ej1,ej1_publicas,2.0,2.0\n"
        "ana,1,ej2,ej2_ocultas,1.0,3.0\n")
    return portfolio.write(portfolio.build("ana", grades), tmp_path / "portafolio")


@pytest.mark.browser
def test_portfolio_renders_headings_tables_and_no_js_errors(page, written):
    page.goto(written.html.as_uri())
    assert page.locator("h1").inner_text() == "Portafolio · ana"
    headings = page.locator("h2").all_inner_texts()
    assert "Día 1 · Data engineer" in headings and "Próximos pasos" in headings
    assert page.locator("#resumen tr.fila-dia").count() == 5
    day1 = page.locator('section.dia[data-dia="1"]')
    assert "1 / 3" in day1.locator('tr.ejercicio[data-ejercicio="ej2"]').inner_text()
    assert day1.locator("table.puntuaciones").is_visible()
    assert "MI_SOLUCION" in day1.locator('div.solucion[data-celda="ej2_solucion"]').inner_text()
    assert "SECRETO_OCULTO" not in page.content()
    assert page.locator('section.dia[data-dia="4"] .sin-calificar').is_visible()
    assert page.locator('#proximos-pasos li.paso[data-ejercicio="ej2"]').is_visible()
    assert page.js_errors == []


@pytest.mark.browser
def test_portfolio_pdf_is_printed_by_chromium(written):
    assert written.pdf is not None, written.pdf_note
    assert written.pdf.read_bytes()[:5] == b"%PDF-" and written.pdf.stat().st_size > 5000
