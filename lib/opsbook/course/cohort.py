"""Grade a cohort's submissions for one day, one after another, against the shared stack.

Why this module exists: it is the loop behind ``opsbook curso calificar`` — validate every
folder first (a bad argument must fail before anything runs), then load, merge, execute,
score and write each student's feedback, and finally the gradebook and the cohort index.
A student whose grading breaks is reported and the rest of the cohort is still graded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opsbook.course import authoring, feedback, gradebook, grading, submission
from opsbook.settings import settings

DEFAULT_OUT = Path("evidencia") / "calificaciones"
DEFAULT_CELL_TIMEOUT_S = 900.0

Progress = Callable[[str, int, int, str], None]
"""``(student, k, n, what)`` — called before each student and each graded cell."""


@dataclass(frozen=True)
class CohortResult:
    """What one ``calificar`` run produced."""

    grades: list[grading.Grade]
    out: Path
    index: Path


def _resolve(path: Path) -> Path:
    return path if path.is_absolute() else settings.root / path


def grade_cohort(day: int, folders: list[Path], out: Path = DEFAULT_OUT,
                 cell_timeout_s: float = DEFAULT_CELL_TIMEOUT_S,
                 progress: Progress | None = None, root: Path | None = None) -> CohortResult:
    """Grade ``folders`` (one submission each) for ``day`` and update the gradebook.

    Raises:
        ValueError: unknown day, bad timeout, duplicated student.
        submission.SubmissionError: a folder is missing or not a submission.
    """
    if not 1 <= cell_timeout_s <= 7200:
        raise ValueError(f"--timeout-celda {cell_timeout_s!r}: usa entre 1 y 7200 segundos")
    src_path = authoring.source_path(day, root)
    if not src_path.exists():
        raise ValueError(f"el día {day} no tiene fuente del instructor en {src_path}")
    students = [submission.check_student(f) for f in folders]
    if len(set(students)) != len(students):
        raise ValueError(f"alumnos repetidos en la lista de entregas: {students}")
    source = authoring.read_source(src_path)
    out = _resolve(out)
    grades = []
    for k, folder in enumerate(folders, start=1):
        sub = submission.load(folder, day, source)

        def on_cell(index: int, total: int, gid: str | None, s=sub.student, k=k) -> None:
            if progress:
                progress(s, k, len(folders), gid or f"celda {index + 1}/{total}")

        if progress:
            progress(sub.student, k, len(folders), "inicio")
        result = grading.grade(sub.student, day, source, sub.merged, src_path.parent,
                               cell_timeout_s, sub.tampering, on_cell)
        feedback.write(result, out)
        grades.append(result)
    gradebook.update(out, day, grades)
    return CohortResult(grades, out, gradebook.build_index(out))
