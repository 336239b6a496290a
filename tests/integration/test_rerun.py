"""Every day passes right after a stack restart (``stack down`` + ``up``).

The autograder runs the same notebook for every student, one after another, on one stack, and
students restart the stack: a day whose result depends on what an earlier run left behind
(stale Prometheus samples, Alertmanager's notification log, an alert still firing) fails every
run after the first.

In ``make test`` (``tests`` and ``notebooks`` in one session) ``tests/conftest.py`` moves this
test to run just before the first notebook, after the other integration tests used the
long-lived stack: nbval's run of each day is then its first since the restart, with every cell
required to pass, and the grading tests that follow run each day again on the same stack as the
next student. Run without the notebooks (``pytest tests``), the test runs the alert-driven days
2 and 3 itself with papermill and small parameters, through the same matrix as ``make rerun``.
``make rerun`` runs the full matrix (first run, second run, after a restart) for every day.
"""

import pytest
from opsbook.course import rerun, runner
from opsbook.stack import lifecycle as stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ALERT_DAYS = (2, 3)
"""The days whose re-run breaks first when a run leaves state behind (alerts, episodes)."""


def notebook_days_after(item: pytest.Item) -> set[int]:
    """Course days whose notebook nbval runs later in this session than ``item``."""
    items = item.session.items
    later = items[items.index(item) + 1:]
    return {runner.day_of(i.path.stem) for i in later if i.path.suffix == ".ipynb"} - {0}


@pytest.mark.timeout(1800)  # one restart and up to two notebook runs: ~6-10 min on 2 shared cores
def test_days_pass_right_after_a_restart(live_stack, request):
    down = stack.down()
    stack.up(progress=False)
    # the down ended the bridge's series with staleness markers (nothing leaks into the next up)
    assert down["series_marked_stale"] is True
    assert stack.is_healthy()
    followed = notebook_days_after(request.node)
    missing = [day for day in ALERT_DAYS if day not in followed]
    if not missing:
        print(f"\nnbval ejecuta a continuación los días {sorted(followed)} tras este reinicio")
        return
    cells = rerun.run_matrix(missing, lambda: None, rerun.SMALL_PARAMETERS, timeout_s=900,
                             scenarios=("tras_reinicio",))
    matrix = rerun.table(cells)
    print(matrix)
    assert [(c.day, c.scenario) for c in cells] == [(d, "tras_reinicio") for d in missing]
    failed = [f"día {c.day} {c.scenario}: In [{c.failed_cell}] {c.error}" for c in cells
              if not c.passed]
    assert not failed, f"{matrix}\n" + "\n".join(failed)
