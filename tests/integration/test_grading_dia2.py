"""Day 2 graded on the live stack: the untouched student release scores at most 20 %.

The reference's 100 % is proven by nbval running the instructor's source notebook (hidden
checks included) in ``make test``; this test grades the release a student receives, untouched,
the way ``opsbook curso calificar`` does. Every missing solution must fail its exercise's
checks fast (a stub raises before anything waits), so the whole release grades in about the
time of the day's own runs.
"""

from __future__ import annotations

import pytest
from grading_pair import assert_untouched_promise, grade_untouched


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    return grade_untouched(2, tmp_path_factory, cell_timeout_s=600)


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_untouched_release_scores_at_most_20_percent(graded):
    assert_untouched_promise(graded, 2, {"ej1", "ej2", "ej3", "preguntas"})
    (grade,) = graded.grades
    slow = [(c.first_line, round(c.seconds)) for c in grade.cells
            if c.grade_id and c.status != "ok" and c.seconds > 30]
    assert not slow, f"celdas de la entrega intacta que tardan en fallar: {slow}"
