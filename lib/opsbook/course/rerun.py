"""The re-run matrix: every day × {first run, second run on the same stack, right after a restart}.

Why this module exists: a day that passes only the first time it runs on a machine is broken for
every student after the first one (the autograder runs the same notebook for each student on one
stack) and for anyone who restarts the stack. ``make rerun`` and the integration test
``tests/integration/test_rerun.py`` both run this matrix with papermill
(:func:`opsbook.course.runner.run_one`) and print it as one table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from opsbook.course import runner

SCENARIOS = ("primera", "segunda", "tras_reinicio")
"""First run, second run on the same stack, first run right after ``stack down`` + ``up``."""

SMALL_PARAMETERS: dict[int, dict[str, Any]] = {
    2: {"n_rows": 50},
    3: {"drills_to_run": ["db_unreachable"], "timeout_s": 600.0},
    5: {"renderizar": False},
}
"""Papermill parameters that keep a day short while exercising what a re-run breaks (day 2:
every alert episode; day 3: the drill whose critical sibling alert outlives it)."""


@dataclass
class Cell:
    """One cell of the matrix.

    Attributes:
        day: course day.
        scenario: one of :data:`SCENARIOS`.
        passed: the notebook ran to the end with every assert true.
        seconds: papermill wall time.
        failed_cell: ``In [n]`` of the failing cell, when known.
        error: the failure, when any.
    """

    day: int
    scenario: str
    passed: bool
    seconds: float
    failed_cell: int | None = None
    error: str | None = None


def _notebook(day: int):
    found = runner.discover([f"dia_{day}_"])
    if not found:
        raise ValueError(f"no hay cuaderno del día {day}")
    return found[0]


def run_matrix(days: Iterable[int], restart: Callable[[], None],
               parameters: dict[int, dict[str, Any]] | None = None,
               timeout_s: float | None = None,
               report: Callable[[Cell], None] | None = None,
               scenarios: Iterable[str] = SCENARIOS) -> list[Cell]:
    """Run each day twice on the running stack, restart the stack, run it a third time.

    Args:
        days: course days to run, in order.
        restart: stops and starts the stack (``opsbook stack down`` then ``up``).
        parameters: papermill parameters per day (default none: the notebook's own).
        timeout_s: per-cell timeout.
        report: called with each cell as soon as it is known (progress output).
        scenarios: which of :data:`SCENARIOS` to run, in that order (default all).

    Returns:
        The cells, day by day in :data:`SCENARIOS` order.
    """
    cells = []
    for day in days:
        for scenario in (s for s in SCENARIOS if s in tuple(scenarios)):
            if scenario == "tras_reinicio":
                restart()
            run = runner.run_one(_notebook(day), (parameters or {}).get(day), timeout_s,
                                 progress=False)
            cell = Cell(day, scenario, run.status == "passed", run.seconds or 0.0,
                        run.failed_cell, run.error)
            cells.append(cell)
            if report:
                report(cell)
    return cells


def table(cells: list[Cell]) -> str:
    """The matrix as a Markdown table: one row per day, ``✓ 93 s`` / ``✗ In [13] 240 s``."""
    days = sorted({c.day for c in cells})
    lines = ["| día | " + " | ".join(SCENARIOS) + " |", "|---|" + "---|" * len(SCENARIOS)]
    for day in days:
        row = []
        for scenario in SCENARIOS:
            cell = next((c for c in cells if c.day == day and c.scenario == scenario), None)
            if cell is None:
                row.append("–")
            elif cell.passed:
                row.append(f"✓ {cell.seconds:.0f} s")
            else:
                where = f" In [{cell.failed_cell}]" if cell.failed_cell else ""
                row.append(f"✗{where} {cell.seconds:.0f} s")
        lines.append(f"| {day} | " + " | ".join(row) + " |")
    return "\n".join(lines)
