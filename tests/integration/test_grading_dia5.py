"""Day 5 graded end to end on the live stack: the reference copy and the untouched release.

Day 5 is short, so both are graded here: the reference must score 100 % (its hidden checks
run ruff on the docstrings, re-open the student's slide and re-measure the stack, and try the
README's commands and ports), the untouched release at most 20 % and quickly (every solution
stub raises at once). The seconds of each are printed for the report.
"""

from __future__ import annotations

import time

import pytest
from opsbook.course import cohort, day5_assignment, portfolio, release


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    subs = tmp_path_factory.mktemp("entregas")
    release.publish(subs / "referencia", with_solutions=True)
    release.publish(subs / "intacta", with_solutions=False)
    out = tmp_path_factory.mktemp("calificaciones")
    started = time.perf_counter()
    result = cohort.grade_cohort(5, [subs / "referencia", subs / "intacta"], out,
                                 cell_timeout_s=600)
    print(f"\ncalificación del día 5: {time.perf_counter() - started:.1f} s en total; "
          + ", ".join(f"{g.student} {g.automatic[0]:g}/{g.automatic[1]:g} en {g.seconds:.1f} s"
                      for g in result.grades))
    return result


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_reference_scores_100_and_untouched_at_most_20(graded):
    by = {g.student: g for g in graded.grades}
    got, top = by["referencia"].automatic
    failed = [(r.criterion, r.message) for r in by["referencia"].results
              if not r.passed and not r.manual]
    assert got == top > 0, failed
    got, top = by["intacta"].automatic
    assert got <= 0.2 * top, [(r.criterion, r.message) for r in by["intacta"].results]
    assert {r.exercise for r in by["intacta"].results if not r.manual} >= {"ej1", "ej2", "ej3"}
    assert "tampering" not in by["intacta"].flags + by["referencia"].flags


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
