"""Day 5 graded end to end on the live stack: the reference copy and the untouched release.

Day 5 is short, so both are graded here: the reference must score 100 % (its hidden checks
run ruff on the docstrings, re-open the student's slide and re-measure the stack, and try the
README's commands and ports), the untouched release at most 20 % and quickly (every solution
stub raises at once). The seconds of each are printed for the report.
"""

from __future__ import annotations

import pytest
from grading_pair import assert_promise, grade_pair
from opsbook.course import day5_assignment, portfolio


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    return grade_pair(5, tmp_path_factory, cell_timeout_s=600)


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_reference_scores_100_and_untouched_at_most_20(graded):
    assert_promise(graded, {"ej1", "ej2", "ej3"})


@pytest.mark.stack
@pytest.mark.slow
def test_each_student_wrote_in_their_own_folder(graded):
    mine = day5_assignment.student_dir("referencia")
    assert (mine / "scqa.pptx").is_file() and (mine / "README_operador.md").is_file()
    untouched = day5_assignment.student_dir("intacta")
    assert not any((untouched / name).exists() for name in ("scqa.pptx", "README_operador.md"))


@pytest.mark.stack
@pytest.mark.slow
def test_portfolio_shows_the_students_slide_and_readme(graded, tmp_path):
    page = portfolio.write(portfolio.build("referencia", graded.out), tmp_path, pdf=False)
    html = page.html.read_text(encoding="utf-8")
    day5 = html.split('<section class="dia" data-dia="5">', 1)[1].split("</section>", 1)[0]
    readme = (day5_assignment.student_dir("referencia") / "README_operador.md").read_text()
    assert "Documentos del alumno" in day5 and "## Arrancar" in readme
    assert "opsbook stack status" in day5 and "Situación:" in day5
    assert "def seccion_operador" in day5 and "BEGIN HIDDEN" not in html
