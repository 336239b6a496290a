"""Per-student feedback page and executed notebook (``<alumno>/dia_N/``).

Why this module exists: a student must see, per exercise, which checks passed and why the
others failed — with the cell that raised or timed out — without reading the grader's log.
The page is rendered with Jinja2 from the typed :class:`~opsbook.course.grading.Grade`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import jinja2
import nbformat

from opsbook.course.grading import Grade

RESULT_FILE = "resultado.json"
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("opsbook.course", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]))


def student_dir(out: Path, student: str, day: int) -> Path:
    """Folder of one student's day in the grading output."""
    return out / student / f"dia_{day}"


def exercises(grade: Grade) -> list[dict]:
    """Results grouped by exercise, in notebook order, with points and maximum."""
    groups: dict[str, list] = defaultdict(list)
    for r in grade.results:
        groups[r.exercise].append(r)
    return [{"nombre": name, "puntos": sum(r.points for r in rs),
             "maximo": sum(r.maximum for r in rs), "manual": all(r.manual for r in rs),
             "criterios": rs} for name, rs in groups.items()]


def write(grade: Grade, out: Path) -> Path:
    """Write ``ejecutado.ipynb``, ``resultado.json`` and ``feedback.html``; return the page.

    ``ejecutado.ipynb`` carries the hidden checks: it is for the instructor, and the feedback
    page (what a student receives) does not link it.
    """
    folder = student_dir(out, grade.student, grade.day)
    folder.mkdir(parents=True, exist_ok=True)
    if grade.executed is not None:
        nbformat.write(grade.executed, folder / "ejecutado.ipynb")
    (folder / RESULT_FILE).write_text(json.dumps(grade.to_dict(), indent=2, ensure_ascii=False))
    got, top = grade.automatic
    page = folder / "feedback.html"
    page.write_text(_ENV.get_template("feedback.html.j2").render(
        g=grade, ejercicios=exercises(grade), puntos=got, maximo=top,
        fallos=[c for c in grade.cells if c.status != "ok"]))
    return page
