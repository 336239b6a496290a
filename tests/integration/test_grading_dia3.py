"""Day 3 graded on the live stack: the untouched release scores at most 20 % and fails fast.

The reference's 100 % is proven by nbval running the instructor's source notebook (hidden
checks included: they read the stack's incident store, supervisord and Alertmanager) in
``make test``, and end to end through publish → grade by ``make grade-check ARGS="--dias 3"``
(as for days 2 and 4; day 1's pair proves the whole publish → grade path in ``make test``).
``tests/conftest.py`` runs this test after the notebooks: the untouched release is graded as the
next student right after nbval's reference run of day 3 (its drills, incidents and alerts) on
the same stack, which proves that one student's drill never counts for the next. The untouched
release must fail fast: no graded cell and no drill cell of an exercise waits when the solution
is missing (the student's recovery step is probed on the healthy stack before any fault is
injected).
"""

from __future__ import annotations

import pytest
from grading_pair import assert_untouched_promise, grade_untouched

FAST_S = 30.0
"""Bound of any exercise cell of the untouched release (a missing solution fails at once)."""

EXERCISES = {"ej1", "ej2", "ej3"}
"""The graded exercises of day 3 (each must appear among the untouched release's criteria)."""


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    return grade_untouched(3, tmp_path_factory, cell_timeout_s=900)


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_untouched_release_scores_at_most_20_percent(graded):
    assert_untouched_promise(graded, 3, EXERCISES)


@pytest.mark.stack
@pytest.mark.slow
def test_untouched_release_fails_fast(graded):
    (untouched,) = graded.grades
    slow = [(c.grade_id or c.first_line, round(c.seconds, 1)) for c in untouched.cells
            if (c.grade_id or "").startswith("ej") and c.seconds > FAST_S]
    assert not slow, slow
    drill = next(c for c in untouched.cells if "drills.run(\"pipeline_down\"" in c.first_line
                 or c.first_line.startswith("results = {}"))
    assert drill.status == "error" and drill.seconds < FAST_S, drill
    assert "idempotente" in drill.message or "NotImplementedError" in drill.message
