"""Grading overhead: seconds per graded day-1 submission vs a plain papermill run.

Baseline, measured in the same invocation: papermill runs the day-1 reference notebook once
(kernel ``opsbook``, cwd its folder) — what ``make run`` does for that day. Then the grader
grades the same reference as a submission (merge with the instructor's source, cell-by-cell
execution, scoring, feedback and gradebook). Prints both times and the ratio (goal ≤ 1.3×).
Needs the stack running (``make stack-up``).

Run: ``.venv/bin/python bench/grading.py`` (part of ``make bench``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill
from opsbook.course import authoring, cohort, release
from opsbook.stack import lifecycle as stack

GOAL = 1.3


def main() -> int:
    if not stack.is_healthy():
        print("la pila no está sana: arráncala con 'make stack-up'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench_grading_") as tmp:
        tmp = Path(tmp)
        src = authoring.source_path(1)
        plain_in = tmp / "plain.ipynb"
        nb = release.reference_notebook(authoring.read_source(src))
        nbformat.write(nb, plain_in)
        started = time.perf_counter()
        papermill.execute_notebook(str(plain_in), str(tmp / "plain_out.ipynb"),
                                   kernel_name="opsbook", cwd=str(src.parent),
                                   parameters={"alumno": "bench-plain"}, progress_bar=False)
        plain = time.perf_counter() - started
        release.publish(tmp / "bench-graded", with_solutions=True)
        started = time.perf_counter()
        result = cohort.grade_cohort(1, [tmp / "bench-graded"], tmp / "out")
        graded = time.perf_counter() - started
    got, top = result.grades[0].automatic
    ratio = graded / plain
    print(f"papermill (línea base): {plain:.1f} s")
    print(f"calificación de una entrega del día 1: {graded:.1f} s ({got:g}/{top:g} puntos)")
    print(f"razón calificada / papermill: {ratio:.2f}x (objetivo ≤ {GOAL}x)")
    return 0 if ratio <= GOAL and got == top else 1


if __name__ == "__main__":
    sys.exit(main())
