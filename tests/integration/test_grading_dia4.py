"""Day 4 graded on the live stack: the untouched student release scores at most 20 % and fails fast.

The reference's 100 % is proven by nbval running the instructor's source notebook (hidden
checks included: the student's schema v4 through the compatibility checker, the speed-up
recomputed from the student's own fan-out runs read back from Airflow, the student's release
asked at the front door with the load generator's samples recounted) in ``make test``, and end
to end through publish → grade by ``make grade-check ARGS="--dias 4"`` (a day-4 submission
grades in ~4 min: 228 s the reference, 212 s the untouched release, measured 2026-12-06; so
``make test`` grades only the untouched release, as for days 2 and 3). Every missing solution
must fail its exercise's cells at once (the deploy of a release that does not exist never
starts); the untouched release still runs the day's own runs. ``tests/conftest.py`` runs this
test after the notebooks (in ``make test``, on the second stack: ``tests/shards.py``): the release
is graded as the next student after nbval's reference run of day 4 (a Celery round trip,
deploys, the bundle experiment) and the Celery and blue-green tests on the same stack, which
proves those runs left the stack usable and that none of them counts for the next student.
"""

from __future__ import annotations

import pytest
from grading_pair import assert_untouched_promise, grade_untouched
from opsbook.course import day4_assignment

FAST_S = 30.0
"""Bound of any exercise cell of the untouched release (a missing solution fails at once)."""


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    return grade_untouched(4, tmp_path_factory, cell_timeout_s=900)


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(2700)
def test_untouched_release_scores_at_most_20_percent(graded):
    assert_untouched_promise(graded, 4, {"ej1", "ej2", "ej3"})


@pytest.mark.stack
@pytest.mark.slow
def test_untouched_release_fails_fast(graded):
    (untouched,) = graded.grades
    exercise = [c for c in untouched.cells if (c.grade_id or "").startswith("ej")]
    assert len(exercise) == 9, [c.grade_id for c in exercise]
    slow = [(c.grade_id, round(c.seconds, 1)) for c in exercise if c.seconds > FAST_S]
    assert not slow, slow
    assert all(c.status == "error" for c in exercise), [(c.grade_id, c.status) for c in exercise]
    solutions = [c for c in exercise if c.grade_id.endswith("_solucion")]
    assert all("NotImplementedError" in c.message for c in solutions), solutions
    assert not (day4_assignment.student_dir("intacta") / "clientes_v4.avsc").exists()
