"""Feedback page and cohort index, opened in a real Chromium (Playwright)."""

from __future__ import annotations

import pytest
from opsbook.course import feedback, gradebook
from opsbook.course.grading import CellRun, CriterionResult, Grade


def _grade(student: str, ok: bool, flags: list[str]) -> Grade:
    results = [
        CriterionResult("ej1_publicas", "ej1", 2.0 if ok else 0.0, 2.0, ok,
                        "correcto" if ok else "AssertionError: ciclo.py no se señala"),
        CriterionResult("ej2_ocultas", "ej2", 3.0, 3.0, True, "correcto"),
        CriterionResult("p4_abierta", "revision_manual", 0.0, 2.0, False, "revisión manual",
                        True, "porque la CI bloquea antes"),
    ]
    cells = [] if ok else [CellRun(7, "ej1_solucion", "timeout", 5.0,
                                   "TiempoAgotado: la celda superó 5 s", "while True:")]
    return Grade(student, 1, results, cells, flags, ["celda de comprobación ej1_publicas "
                                                      "modificada"] if "tampering" in flags
                 else [], 12.5)


@pytest.fixture
def graded(tmp_path):
    grades = [_grade("ana", True, []), _grade("beto", False, ["timeout", "tampering"])]
    for g in grades:
        feedback.write(g, tmp_path)
    gradebook.update(tmp_path, 1, grades)
    old = tmp_path / gradebook.GRADES_FILE
    book = old.read_text() + "carla,2,ej1,ej1_publicas,1.0,2.0\n"
    old.write_text(book)
    return tmp_path, gradebook.build_index(tmp_path)


@pytest.mark.browser
def test_feedback_page_shows_points_checks_and_timeouts(page, graded):
    out, _ = graded
    page.goto((out / "beto" / "dia_1" / "feedback.html").as_uri())
    assert "3 / 5" in page.locator("#total").inner_text()
    row = page.locator('tr.criterio[data-criterio="ej1_publicas"]')
    assert "fallida" in row.inner_text() and "no se señala" in row.inner_text()
    assert "timeout" in page.locator("#fallos").inner_text()
    assert "ej1_publicas modificada" in page.content()
    assert page.js_errors == []
    page.goto((out / "ana" / "dia_1" / "feedback.html").as_uri())
    assert "5 / 5" in page.locator("#total").inner_text()
    assert page.locator("#sin-fallos").is_visible()


@pytest.mark.browser
def test_cohort_index_table_chart_flags_and_missing(page, graded):
    _, index = graded
    page.goto(index.as_uri())
    day1 = page.locator('section.dia[data-dia="1"]')
    assert day1.locator('tr.fila[data-alumno="ana"] td.pct').inner_text() == "100.0"
    beto = day1.locator('tr.fila[data-alumno="beto"]')
    assert "timeout" in beto.inner_text() and "tampering" in beto.inner_text()
    carla = day1.locator('tr.fila[data-alumno="carla"]')
    assert "missing" in carla.locator("td.avisos").inner_text()
    assert day1.locator("figure.distribucion svg").first.bounding_box()["height"] > 50
    page.locator('a:text("beto")').first.click()
    assert page.url.endswith("beto/dia_1/feedback.html")
    assert page.js_errors == []
