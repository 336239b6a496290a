"""Re-execute a merged submission cell by cell and score its graded cells.

Why this module exists: papermill stops at the first failing cell, but a grader must keep
going — one broken exercise must not cost the others. The merged notebook (instructor source
plus the student's solution cells, see :mod:`opsbook.course.submission`) gets the student id
injected as a papermill parameter (``alumno``: the exercises derive their dates and run ids
from it, so every student works in their own namespace on the shared stack) and runs with
nbclient in the notebook's folder, one cell at a time, with a per-cell timeout that interrupts
the kernel and moves on. A graded cell scores its points only if it ran without error and no
solution cell of the same exercise failed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from papermill.parameterize import parameterize_notebook

from opsbook.course import authoring
from opsbook.course.kernels import KERNEL, PrivateIpcAsyncKernelManager

TIMEOUT_ENAME = "TiempoAgotado"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CellRun:
    """One executed cell.

    Attributes:
        index: position in the executed notebook.
        grade_id: nbgrader id (``None`` for a plain cell).
        status: ``ok``, ``error``, ``timeout`` or ``not_run`` (kernel died earlier).
        seconds: wall time.
        message: error type and message (empty when ok).
        first_line: first non-empty line of the cell (to name it in the feedback).
    """

    index: int
    grade_id: str | None
    status: str
    seconds: float
    message: str = ""
    first_line: str = ""


@dataclass
class CriterionResult:
    """Score of one graded cell."""

    criterion: str
    exercise: str
    points: float
    maximum: float
    passed: bool
    message: str
    manual: bool = False
    answer: str = ""


@dataclass
class Grade:
    """Everything the grader learnt about one student's day.

    Attributes:
        student: student id.
        day: course day.
        results: one per graded cell (manual ones included, flagged ``manual``).
        cells: every executed cell.
        flags: ``timeout``, ``error``, ``tampering``, ``missing`` (those that apply).
        tampering: Spanish description of each edited or deleted locked cell.
        seconds: wall time of the execution.
        executed: the executed notebook (``None`` when the submission had none).
    """

    student: str
    day: int
    results: list[CriterionResult] = field(default_factory=list)
    cells: list[CellRun] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    seconds: float = 0.0
    executed: nbformat.NotebookNode | None = None

    @property
    def automatic(self) -> tuple[float, float]:
        """Points and maximum of the automatic criteria."""
        auto = [r for r in self.results if not r.manual]
        return sum(r.points for r in auto), sum(r.maximum for r in auto)

    def to_dict(self) -> dict:
        """JSON-ready summary (without the notebook)."""
        got, top = self.automatic
        return {"alumno": self.student, "dia": self.day, "puntos": got, "maximo": top,
                "segundos": round(self.seconds, 2), "banderas": self.flags,
                "manipulacion": self.tampering,
                "criterios": [r.__dict__ for r in self.results],
                "celdas": [c.__dict__ for c in self.cells if c.status != "ok"]}


def _error_of(cell: nbformat.NotebookNode) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = _ANSI.sub("", f"{out.get('ename')}: {out.get('evalue')}").strip()
            return " ".join(text.splitlines()[:3])[:300]
    return None


def _first_line(source: str) -> str:
    return next((ln.strip() for ln in source.splitlines()
                 if ln.strip() and not ln.startswith(("# NBVAL", "###"))), "")[:80]


def execute(nb: nbformat.NotebookNode, cwd: Path, cell_timeout_s: float,
            on_cell: Callable[[int, int, str | None], None] | None = None) -> list[CellRun]:
    """Run every code cell of ``nb`` in place, continuing after errors and timeouts.

    Args:
        nb: notebook to execute (outputs are written into it).
        cwd: working directory of the kernel (the notebook's folder).
        cell_timeout_s: seconds a cell may run before the kernel is interrupted.
        on_cell: progress callback ``(index, total, grade_id)`` before each cell.
    """
    client = NotebookClient(
        nb, kernel_name=KERNEL, timeout=int(cell_timeout_s), allow_errors=True,
        interrupt_on_timeout=True, resources={"metadata": {"path": str(cwd)}},
        error_on_timeout={"ename": TIMEOUT_ENAME,
                          "evalue": f"la celda superó {cell_timeout_s:g} s y se interrumpió",
                          "traceback": []},
        kernel_manager_class=PrivateIpcAsyncKernelManager)
    return _run_cells(client, nb, cell_timeout_s, on_cell)


def _run_cells(client: NotebookClient, nb: nbformat.NotebookNode, cell_timeout_s: float,
               on_cell: Callable[[int, int, str | None], None] | None) -> list[CellRun]:
    runs: list[CellRun] = []
    dead = ""
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            gid = authoring.grade_id(cell)
            if on_cell:
                on_cell(index, len(nb.cells), gid)
            if dead:
                runs.append(CellRun(index, gid, "not_run", 0.0, dead, _first_line(cell.source)))
                continue
            started = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except DeadKernelError as exc:
                dead = f"el kernel murió: {exc}"
                runs.append(CellRun(index, gid, "error", time.perf_counter() - started, dead,
                                    _first_line(cell.source)))
                continue
            seconds = time.perf_counter() - started
            error = _error_of(cell)
            status = "ok" if error is None else "error"
            if seconds >= cell_timeout_s or (error or "").startswith(
                    (TIMEOUT_ENAME, "KeyboardInterrupt")):
                status = "timeout"  # the kernel was interrupted at the deadline
                error = f"{TIMEOUT_ENAME}: la celda superó {cell_timeout_s:g} s y se interrumpió"
            runs.append(CellRun(index, gid, status, seconds, error or "",
                                _first_line(cell.source)))
    return runs


def score(source: nbformat.NotebookNode, executed: nbformat.NotebookNode,
          runs: list[CellRun]) -> list[CriterionResult]:
    """Score the graded cells of an executed merged notebook.

    A check scores when its cell ran clean and no solution cell of its exercise failed; an
    open answer (markdown) is never scored here, its text goes to the manual review.
    """
    by_id = {r.grade_id: r for r in runs if r.grade_id}
    failed_solutions: dict[str, str] = {}
    for cell in executed.cells:
        gid = authoring.grade_id(cell)
        if gid and authoring.is_solution(cell) and cell.cell_type == "code":
            run = by_id.get(gid)
            if run and run.status != "ok":
                failed_solutions.setdefault(authoring.exercise_of(gid),
                                            f"la celda {gid} falló: {run.message}")
    answers = {authoring.grade_id(c): c.source for c in executed.cells if authoring.grade_id(c)}
    out = []
    for crit in authoring.criteria(source):
        if crit.manual:
            out.append(CriterionResult(crit.grade_id, crit.exercise, 0.0, crit.points, False,
                                       "revisión manual", True, answers.get(crit.grade_id, "")))
            continue
        run = by_id.get(crit.grade_id)
        if run is None:
            ok, msg = False, "no se ejecutó"
        elif run.status != "ok":
            ok, msg = False, run.message
        elif crit.exercise in failed_solutions:
            ok, msg = False, failed_solutions[crit.exercise]
        else:
            ok, msg = True, "correcto"
        out.append(CriterionResult(crit.grade_id, crit.exercise, crit.points if ok else 0.0,
                                   crit.points, ok, msg))
    return out


def grade(student: str, day: int, source: nbformat.NotebookNode,
          merged: nbformat.NotebookNode | None, cwd: Path, cell_timeout_s: float,
          tampering: list[str] | None = None,
          on_cell: Callable[[int, int, str | None], None] | None = None) -> Grade:
    """Grade one merged submission (``merged=None``: missing notebook, everything 0)."""
    result = Grade(student, day, tampering=list(tampering or []))
    if merged is None:
        result.flags.append("missing")
        result.results = [CriterionResult(c.grade_id, c.exercise, 0.0, c.points, False,
                                          "sin entrega", c.manual)
                          for c in authoring.criteria(source)]
        return result
    nb = nbformat.from_dict(merged)
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])  # papermill reads the tags of every cell
    nb = parameterize_notebook(nb, {"alumno": student},
                               kernel_name=KERNEL, language="python")
    started = time.perf_counter()
    result.cells = execute(nb, cwd, cell_timeout_s, on_cell)
    result.seconds = time.perf_counter() - started
    result.executed = nb
    result.results = score(source, nb, result.cells)
    statuses = {c.status for c in result.cells}
    for flag, present in (("timeout", "timeout" in statuses),
                          ("error", bool(statuses & {"error", "not_run"})),
                          ("tampering", bool(result.tampering))):
        if present:
            result.flags.append(flag)
    return result
