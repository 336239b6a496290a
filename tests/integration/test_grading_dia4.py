"""Day 4 graded end to end on the live stack: the reference copy and the untouched release.

The reference must score 100 %: its hidden checks pass the student's schema v4 through the
compatibility checker (in process and with ``opsbook schema check``), read the student's own
fan-out runs back from Airflow's REST API to recompute the speed-up, and ask the front door
which release answers after the student's blue-green deploy, recounting the load generator's
samples. The untouched release must score at most 20 % and fail fast: every exercise cell
raises at once (the deploy of a release that does not exist never starts). Grading the
untouched release after the reference on the same stack also proves the stack is left usable
for the next student (the Celery mode is undone, blue serves again).
"""

from __future__ import annotations

import pytest
from grading_pair import assert_promise, grade_pair
from opsbook.course import day4_assignment

FAST_S = 30.0
"""Bound of any exercise cell of the untouched release (a missing solution fails at once)."""


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    return grade_pair(4, tmp_path_factory, cell_timeout_s=900)


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(5400)
def test_reference_scores_100_and_untouched_at_most_20(graded):
    assert_promise(graded, {"ej1", "ej2", "ej3"})


@pytest.mark.stack
@pytest.mark.slow
def test_untouched_release_fails_fast(graded):
    untouched = next(g for g in graded.grades if g.student == "intacta")
    exercise = [c for c in untouched.cells if (c.grade_id or "").startswith("ej")]
    assert len(exercise) == 9, [c.grade_id for c in exercise]
    slow = [(c.grade_id, round(c.seconds, 1)) for c in exercise if c.seconds > FAST_S]
    assert not slow, slow
    assert all(c.status == "error" for c in exercise), [(c.grade_id, c.status) for c in exercise]
    solutions = [c for c in exercise if c.grade_id.endswith("_solucion")]
    assert all("NotImplementedError" in c.message for c in solutions), solutions


@pytest.mark.stack
@pytest.mark.slow
def test_each_student_wrote_in_their_own_folder(graded):
    mine = day4_assignment.student_dir("referencia") / "clientes_v4.avsc"
    assert '"segmento"' in mine.read_text(encoding="utf-8")
    assert not (day4_assignment.student_dir("intacta") / "clientes_v4.avsc").exists()
