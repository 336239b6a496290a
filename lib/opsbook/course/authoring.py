"""The nbgrader authoring format of the course notebooks, read from the instructor's source.

Why this module exists: release, grading and feedback all need the same facts about a day's
assignment — which cells are solutions, which are graded checks and how many points they are
worth, which exercise each belongs to. The source of truth is the jupytext ``.py`` of the day
(cell metadata ``nbgrader={...}`` in the percent headers, ``### BEGIN SOLUTION`` and
``### BEGIN HIDDEN TESTS`` regions); this module reads it once into typed objects, using
nbgrader's own predicates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from nbgrader import utils as nbg

from opsbook.course.days import COURSE_NOTEBOOKS
from opsbook.course.kernels import KERNELSPEC
from opsbook.settings import settings

_EXERCISE_HEADING = re.compile(r"^#+\s*(?:\d+\.\s*)?Ejercicio\s+(\d+)\s*[·:.\-—]\s*(.+)$",
                               re.MULTILINE)
_QUESTIONS_HEADING = re.compile(r"^#+\s*(?:\d+\.\s*)?(Preguntas[^\n]*)$", re.MULTILINE)
MANUAL_EXERCISE = "revision_manual"
"""Exercise name of the open questions (graded by hand, outside the automatic total)."""


@dataclass(frozen=True)
class Criterion:
    """One graded cell of an assignment.

    Attributes:
        grade_id: nbgrader ``grade_id`` (also the criterion name in the gradebook).
        exercise: exercise it belongs to (the part of ``grade_id`` before the first ``_``).
        points: maximum points.
        manual: an open answer graded by hand (not part of the automatic total).
    """

    grade_id: str
    exercise: str
    points: float
    manual: bool


def exercise_of(grade_id: str) -> str:
    """Exercise of a ``grade_id``: ``ej2_ocultas`` → ``ej2``, ``p1`` → ``preguntas``."""
    head = grade_id.split("_", 1)[0]
    return head if head.startswith("ej") else "preguntas"


def check_day(day: int) -> str:
    """Notebook name of ``day``.

    Raises:
        ValueError: a day without a notebook (Spanish message with the known days).
    """
    if day not in COURSE_NOTEBOOKS:
        raise ValueError(f"día {day!r} desconocido; días del curso: {sorted(COURSE_NOTEBOOKS)}")
    return COURSE_NOTEBOOKS[day]


def source_path(day: int, root: Path | None = None) -> Path:
    """Path of the instructor's jupytext source of ``day``."""
    name = check_day(day)
    return (root or settings.root) / "notebooks" / name / f"{name}.py"


def read_source(path: Path) -> nbformat.NotebookNode:
    """Read a jupytext source as a notebook with the course kernel and no outputs."""
    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    """The nbgrader ``grade_id`` of a cell, ``None`` for a plain cell."""
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Whether the student writes in this cell (nbgrader solution cell)."""
    return nbg.is_solution(cell)


def criteria(nb: nbformat.NotebookNode) -> list[Criterion]:
    """The graded cells of an instructor notebook, in notebook order."""
    out = []
    for cell in nb.cells:
        if nbg.is_grade(cell):
            gid = grade_id(cell)
            manual = cell.cell_type == "markdown"
            out.append(Criterion(gid, MANUAL_EXERCISE if manual else exercise_of(gid),
                                 float(cell.metadata["nbgrader"].get("points", 0)), manual))
    return out


def exercise_titles(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Exercise → title, from the notebook's headings (``## 6. Ejercicio 1 · Título``)."""
    titles: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for number, title in _EXERCISE_HEADING.findall(cell.source):
            titles.setdefault(f"ej{number}", title.strip())
        for title in _QUESTIONS_HEADING.findall(cell.source):
            titles.setdefault("preguntas", title.strip())
    return titles
