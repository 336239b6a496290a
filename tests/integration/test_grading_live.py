"""Day 1 graded end to end on the live stack: the reference copy and the untouched release.

The reference must score 100 % (its hidden checks query Airflow, the warehouse and
Prometheus), the untouched release at most 20 %; both get feedback pages and the cohort index
lists them.
"""

from __future__ import annotations

import pandas as pd
import pytest
from grading_pair import assert_promise, grade_pair
from opsbook.course import gradebook


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    return grade_pair(1, tmp_path_factory, cell_timeout_s=900)


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_reference_scores_100_and_untouched_at_most_20(graded):
    assert_promise(graded)


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
