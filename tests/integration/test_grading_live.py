"""Day 1 graded end to end on the live stack: the reference copy and the untouched release.

The reference must score 100 % (its hidden checks query Airflow, the warehouse and
Prometheus), the untouched release at most 20 %; both get feedback pages and the cohort index
lists them.
"""

from __future__ import annotations

import pandas as pd
import pytest
from opsbook.course import cohort, gradebook, release


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    subs = tmp_path_factory.mktemp("entregas")
    release.publish(subs / "referencia", with_solutions=True)
    release.publish(subs / "intacta", with_solutions=False)
    out = tmp_path_factory.mktemp("calificaciones")
    return cohort.grade_cohort(1, [subs / "referencia", subs / "intacta"], out,
                               cell_timeout_s=900)


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_reference_scores_100_and_untouched_at_most_20(graded):
    by = {g.student: g for g in graded.grades}
    got, top = by["referencia"].automatic
    failed = [(r.criterion, r.message) for r in by["referencia"].results
              if not r.passed and not r.manual]
    assert got == top > 0, failed
    got, top = by["intacta"].automatic
    assert got <= 0.2 * top, [(r.criterion, r.message) for r in by["intacta"].results]
    assert "tampering" not in by["intacta"].flags + by["referencia"].flags


@pytest.mark.stack
@pytest.mark.slow
def test_gradebook_and_feedback_written(graded):
    book = pd.read_csv(graded.out / gradebook.GRADES_FILE)
    assert list(book.columns) == gradebook.COLUMNS
    assert set(book["alumno"]) == {"referencia", "intacta"}
    assert set(book["ejercicio"]) >= {"ej1", "ej2", "ej3"}
    for student in ("referencia", "intacta"):
        assert (graded.out / student / "dia_1" / "feedback.html").exists()
    assert "referencia/dia_1/feedback.html" in graded.index.read_text()
