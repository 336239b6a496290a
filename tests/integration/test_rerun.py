"""Days 2 and 3 re-run: right after a restart, then again on the same stack.

The autograder runs the same notebook for every student, one after another, on one stack, and
students restart the stack: a day whose result depends on what an earlier run left behind
(stale Prometheus samples, Alertmanager's notification log, an alert still firing) fails every
run after the first. This runs the alert-driven days with small parameters through the same
matrix as ``make rerun`` (papermill) and requires every cell to pass.

To keep ``make test`` short, this test only runs the days right after one restart (the stack
already ran days 1–5's earlier tests, and each day's run here is its first since the restart);
nbval runs both notebooks again on the same stack afterwards (the "second run in a row"), and
the grading tests run each day once more as the next student. ``make rerun`` runs the full
matrix (first run, second run, after a restart) for every day.
"""

import pytest
from opsbook.course import rerun
from opsbook.stack import lifecycle as stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]


@pytest.mark.timeout(1800)  # one restart and two notebook runs: ~6-10 min on 2 shared cores
def test_days_2_and_3_pass_right_after_a_restart(live_stack):
    downs = []

    def restart():
        downs.append(stack.down())
        stack.up(progress=False)

    restart()
    scenarios = ("tras_reinicio",)
    cells = rerun.run_matrix([2, 3], lambda: None, rerun.SMALL_PARAMETERS, timeout_s=900,
                             scenarios=scenarios)
    matrix = rerun.table(cells)
    print(matrix)
    assert [(c.day, c.scenario) for c in cells] == [(2, "tras_reinicio"), (3, "tras_reinicio")]
    failed = [f"día {c.day} {c.scenario}: In [{c.failed_cell}] {c.error}" for c in cells
              if not c.passed]
    assert not failed, f"{matrix}\n" + "\n".join(failed)
    # the down ended the bridge's series with staleness markers (nothing leaks into the next up)
    assert [d["series_marked_stale"] for d in downs] == [True]
    assert stack.is_healthy()
