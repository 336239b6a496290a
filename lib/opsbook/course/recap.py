"""The closing recap of a course day: what the student proved in this run, and their grade.

Why this module exists: each day ends by telling the student which of the day's graded checks
their own run passed — without trusting anything the notebook prints and without asking the
student's cells to report on themselves: the day's first cell (``preparar``) starts
:mod:`opsbook.course.cell_log`, which records how every cell ran, keyed by its visible text.
:func:`mostrar` (the day's last cell) looks up the day's check cells in that log (by the
instructor source's visible text, which the student release and the grader's merged copy share)
and shows a table per exercise; when the instructor has graded the day, it adds the score from
the cohort gradebook. Checks hidden from the student are listed as "al calificar".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from opsbook.course import authoring, cell_log, cohort, gradebook
from opsbook.settings import settings

PASSED, FAILED, NOT_RUN = "superada", "falló", "sin ejecutar"


@dataclass(frozen=True)
class ExerciseRecap:
    """One exercise of the day as the recap shows it.

    Attributes:
        exercise: ``ej1``… or ``preguntas``.
        title: heading of the exercise in the notebook.
        maximum: automatic points.
        visible: status of each visible check in this run (``grade_id`` → status).
        hidden: ``grade_id`` of the checks only the grader runs.
        graded: points the grader gave (``None`` when the day has not been graded).
    """

    exercise: str
    title: str
    maximum: float
    visible: dict[str, str]
    hidden: list[str]
    graded: float | None

    @property
    def proved(self) -> bool:
        """Every visible check passed in this run (and there is at least one)."""
        return bool(self.visible) and all(s == PASSED for s in self.visible.values())


@dataclass(frozen=True)
class Recap:
    """The recap of one student's day."""

    day: int
    student: str
    exercises: list[ExerciseRecap]
    graded_file: Path | None

    @property
    def graded_total(self) -> tuple[float, float] | None:
        """``(points, maximum)`` from the gradebook, ``None`` when not graded."""
        if self.graded_file is None:
            return None
        return (sum(e.graded or 0.0 for e in self.exercises),
                sum(e.maximum for e in self.exercises))

    def frame(self) -> pd.DataFrame:
        """One row per exercise (Spanish headers)."""
        rows = []
        for e in self.exercises:
            passed = sum(s == PASSED for s in e.visible.values())
            rows.append({"ejercicio": e.exercise, "qué demuestra": e.title,
                         "comprobaciones visibles superadas": f"{passed}/{len(e.visible)}",
                         "ocultas (al calificar)": len(e.hidden), "puntos máx.": e.maximum,
                         "nota": "—" if e.graded is None else e.graded})
        return pd.DataFrame(rows)

    def text(self) -> str:
        """Plain-text summary (what a headless run prints)."""
        proved = [e.title for e in self.exercises if e.proved]
        lines = [f"Día {self.day} · alumno {self.student}: {len(proved)} de "
                 f"{len(self.exercises)} ejercicios con todas sus comprobaciones visibles "
                 "superadas."]
        lines += [f"  ✔ {t}" for t in proved]
        lines += [f"  ✘ {e.title}: " + ", ".join(f"{g} {s}" for g, s in e.visible.items()
                                                 if s != PASSED)
                  for e in self.exercises if e.visible and not e.proved]
        total = self.graded_total
        lines.append("Nota del corrector: " + (
            f"{total[0]:g} / {total[1]:g} puntos automáticos" if total else
            "aún sin calificar (el corrector re-ejecuta tu cuaderno y añade comprobaciones "
            "ocultas)"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.frame().to_html(index=False, escape=True)


def _graded(student: str, day: int, grades_dir: Path) -> pd.DataFrame | None:
    path = grades_dir / gradebook.GRADES_FILE
    if not path.exists():
        return None
    book = pd.read_csv(path, dtype={"alumno": str})
    rows = book[(book["alumno"] == student) & (book["dia"] == day)]
    return rows if len(rows) else None


def build(dia: int, alumno: str, grades_dir: Path | None = None,
          source: Path | None = None) -> Recap:
    """The recap of ``alumno``'s day ``dia`` from what this kernel ran and the gradebook.

    Args:
        dia: course day.
        alumno: student id.
        grades_dir: cohort gradebook folder (default ``evidencia/calificaciones``).
        source: jupytext source of the day (default: the project's).
    """
    nb = authoring.read_source(source or authoring.source_path(dia))
    grades_dir = grades_dir or settings.root / cohort.DEFAULT_OUT
    book = _graded(alumno, dia, grades_dir)
    titles = authoring.exercise_titles(nb)
    exercises: dict[str, dict] = {}
    cells = {authoring.grade_id(c): c.source for c in nb.cells if authoring.grade_id(c)}
    for crit in authoring.criteria(nb):
        if crit.manual:
            continue
        ex = exercises.setdefault(crit.exercise, {"max": 0.0, "visible": {}, "hidden": []})
        ex["max"] += crit.points
        if cell_log.public_text(cells[crit.grade_id]):
            seen = cell_log.outcome(cells[crit.grade_id])
            ex["visible"][crit.grade_id] = NOT_RUN if seen is None else (PASSED if seen else FAILED)
        else:
            ex["hidden"].append(crit.grade_id)
    out = []
    for name, ex in exercises.items():
        graded = None
        if book is not None:
            graded = float(book.loc[book["ejercicio"] == name, "puntos"].sum())
        out.append(ExerciseRecap(name, titles.get(name, name), ex["max"], ex["visible"],
                                 ex["hidden"], graded))
    return Recap(dia, alumno, out, grades_dir / gradebook.GRADES_FILE if book is not None else None)


def mostrar(dia: int, alumno: str) -> Recap:
    """Last cell of a day: print the recap and return it (Jupyter renders it as a table).

    Args:
        dia: course day.
        alumno: student id (the ``alumno`` parameter of the day).
    """
    recap = build(dia, alumno)
    print(recap.text())
    return recap
