"""Day 3 graded end to end on the live stack: the reference copy and the untouched release.

The reference must score 100 % (its hidden checks read the stack's incident store, supervisord
and Alertmanager), the untouched release at most 20 %, and the untouched release must fail
fast: no graded cell and no drill cell of an exercise waits when the solution is missing (the
student's recovery step is probed on the healthy stack before any fault is injected).
Grading the untouched release after the reference on the same stack also proves that one
student's drill never counts for the next.
"""

from __future__ import annotations

import pytest
from grading_pair import assert_promise, grade_pair

FAST_S = 30.0
"""Bound of any exercise cell of the untouched release (a missing solution fails at once)."""


@pytest.fixture(scope="module")
def graded(live_stack, tmp_path_factory):
    return grade_pair(3, tmp_path_factory, cell_timeout_s=900)


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_reference_scores_100_and_untouched_at_most_20(graded):
    assert_promise(graded)


@pytest.mark.stack
@pytest.mark.slow
def test_untouched_release_fails_fast(graded):
    untouched = next(g for g in graded.grades if g.student == "intacta")
    slow = [(c.grade_id or c.first_line, round(c.seconds, 1)) for c in untouched.cells
            if (c.grade_id or "").startswith("ej") and c.seconds > FAST_S]
    assert not slow, slow
    drill = next(c for c in untouched.cells if "drills.run(\"pipeline_down\"" in c.first_line
                 or c.first_line.startswith("results = {}"))
    assert drill.status == "error" and drill.seconds < FAST_S, drill
    assert "idempotente" in drill.message or "NotImplementedError" in drill.message
