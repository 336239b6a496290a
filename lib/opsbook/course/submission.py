"""A student's submission: find it, validate it, merge it into the instructor's source.

Why this module exists: the grader never runs the notebook a student handed in. It runs the
instructor's source with only the student's solution cells put in (matched by nbgrader
``grade_id``), so hidden checks and read-only cells always come from the instructor and
stored outputs are never looked at. Edits to locked cells or deleted cells are detected here
(against the student release) and reported as tampering; they can never raise a score
because the edited cells are not the ones that run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from opsbook.course import authoring
from opsbook.course.release import student_notebook

STUDENT_ID = re.compile(r"^[a-z0-9_-]{1,40}$")


class SubmissionError(ValueError):
    """A folder that cannot be graded (Spanish message)."""


@dataclass
class Submission:
    """One student's work for one day.

    Attributes:
        student: student id (the folder name).
        folder: the submission folder.
        notebook: the day's notebook in it, ``None`` when missing.
        merged: instructor source with the student's solution cells (``None`` when missing).
        tampering: Spanish descriptions of edited or deleted locked cells.
    """

    student: str
    folder: Path
    notebook: Path | None
    merged: nbformat.NotebookNode | None = None
    tampering: list[str] = field(default_factory=list)


def check_student_id(name: str, where: str) -> str:
    """Return ``name`` if it is a valid student id.

    Args:
        name: the candidate id.
        where: what to name in the error (a folder or an option).

    Raises:
        SubmissionError: the id breaks ``^[a-z0-9_-]{1,40}$`` (Spanish message).
    """
    if not STUDENT_ID.match(name):
        raise SubmissionError(f"{where}: el nombre {name!r} no es un identificador de alumno "
                              "válido (minúsculas, dígitos, '-' o '_', hasta 40 caracteres)")
    return name


def check_student(folder: Path) -> str:
    """Validate a submission folder and return the student id (its name).

    Raises:
        SubmissionError: missing folder, invalid name or not a submission.
    """
    if not folder.is_dir():
        raise SubmissionError(f"{folder}: la carpeta de la entrega no existe")
    name = check_student_id(folder.resolve().name, str(folder))
    if not (folder / "notebooks").is_dir() and not any(folder.glob("dia_*.ipynb")):
        raise SubmissionError(f"{folder}: no es una entrega (no tiene notebooks/ ni dia_*.ipynb; "
                              "entrega la copia de la versión del alumno en la que trabajaste)")
    return name


def find_notebook(folder: Path, day: int) -> Path | None:
    """The day's notebook inside a submission (release layout or loose), ``None`` if absent."""
    name = authoring.check_day(day)
    for path in (folder / "notebooks" / name / f"{name}.ipynb", folder / f"{name}.ipynb"):
        if path.is_file():
            return path
    return None


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def tampering(release: nbformat.NotebookNode, student: nbformat.NotebookNode,
              source: nbformat.NotebookNode | None = None) -> list[str]:
    """Locked cells of the release that the student edited or deleted (Spanish, one per cell).

    A check cell equal to the instructor's ``source`` version (the reference copy) is fine.
    """
    by_id = {authoring.grade_id(c): c for c in student.cells if authoring.grade_id(c)}
    original = {authoring.grade_id(c): _norm(c.source) for c in (source or release).cells
                if authoring.grade_id(c)}
    have = [_norm(c.source) for c in student.cells if c.cell_type == "code"]
    found = []
    for cell in release.cells:
        if (cell.cell_type != "code" or authoring.is_solution(cell)
                or "parameters" in cell.metadata.get("tags", [])):
            continue  # the student writes in solution cells and sets the parameters
        gid = authoring.grade_id(cell)
        if gid:
            theirs = by_id.get(gid)
            if theirs is None:
                found.append(f"celda de comprobación {gid} borrada")
            elif _norm(theirs.source) not in (_norm(cell.source), original.get(gid)):
                found.append(f"celda de comprobación {gid} modificada")
        elif _norm(cell.source) not in have:
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")[:60]
            found.append(f"celda de solo lectura modificada o borrada: «{first}»")
    return found


def merge(source: nbformat.NotebookNode, student: nbformat.NotebookNode
          ) -> tuple[nbformat.NotebookNode, list[str]]:
    """Instructor source with the student's solution cells; also the deleted solution cells.

    A solution cell the student deleted gets the release stub (it raises), so it scores 0.
    """
    stub = {authoring.grade_id(c): c.source for c in student_notebook(source).cells
            if authoring.is_solution(c)}
    theirs = {authoring.grade_id(c): c.source for c in student.cells
              if authoring.grade_id(c) and authoring.is_solution(c)}
    merged = nbformat.from_dict(source)
    missing = []
    for cell in merged.cells:
        if authoring.is_solution(cell):
            gid = authoring.grade_id(cell)
            if gid not in theirs:
                missing.append(f"celda de solución {gid} borrada")
            cell.source = theirs.get(gid, stub[gid])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return merged, missing


def load(folder: Path, day: int, source: nbformat.NotebookNode) -> Submission:
    """Validate ``folder`` and prepare its day-``day`` notebook for grading.

    Raises:
        SubmissionError: see :func:`check_student`; also an unreadable notebook.
    """
    student = check_student(folder)
    path = find_notebook(folder, day)
    sub = Submission(student, folder, path)
    if path is None:
        return sub
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same user error
        raise SubmissionError(f"{path}: no es un cuaderno legible ({exc})") from None
    sub.merged, deleted = merge(source, nb)
    sub.tampering = tampering(student_notebook(source), nb, source) + deleted
    return sub
