"""Student release and instructor reference copy of the project (``opsbook curso publicar``).

Why this module exists: students get a runnable copy of the project whose notebooks carry no
solution and no hidden check — not even the markers. The stripping is nbgrader's own
preprocessors (``ClearSolutions``, ``ClearHiddenTests``, ``LockCells``, ``ClearOutput``)
applied to the nbformat notebook read from the jupytext source; no nbgrader database or
course directory is involved. This module only adds what nbgrader does not do for a plain copy:
drop a check cell that was hidden tests only, and refuse to publish if any trace is left.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

from opsbook.course import authoring
from opsbook.course.days import COURSE_NOTEBOOKS
from opsbook.settings import settings

COPIED = ("Makefile", "README.md", "pyproject.toml", "requirements.in", "requirements.txt",
          ".gitignore", "lib", "dags", "monitoring", "scripts", "docs", "tests", "bench")
"""Project entries a release carries (notebooks are written, not copied)."""
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")
TRACES = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
DEFAULT_DEST = Path("dist") / "alumno"


@dataclass(frozen=True)
class Release:
    """What ``publicar`` wrote.

    Attributes:
        dest: folder of the copy.
        with_solutions: instructor reference copy (``True``) or student release.
        notebooks: notebooks written (``.ipynb``, each with its ``.py`` pair).
    """

    dest: Path
    with_solutions: bool
    notebooks: list[Path]


def _strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    resources: dict = {}
    for pre in (ClearSolutions(), ClearHiddenTests(), LockCells(), ClearOutput()):
        nb, resources = pre.preprocess(nb, resources)
    return nb


def student_notebook(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student's version of an instructor notebook.

    Solution regions become nbgrader's stub, hidden-test regions disappear and a check cell
    that held only hidden tests is dropped with its metadata; graded and read-only cells are
    locked, outputs cleared.

    Raises:
        RuntimeError: a marker survived (malformed region in the source).
    """
    nb = _strip(nbformat.from_dict(source))
    nb.cells = [c for c in nb.cells
                if not (c.cell_type == "code" and authoring.grade_id(c) and not c.source.strip())]
    left = [t for c in nb.cells for t in TRACES if t in c.source]
    if left:
        raise RuntimeError(f"la versión del alumno aún contiene marcas: {sorted(set(left))}")
    return nb


def reference_notebook(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The instructor's reference: the source itself, outputs cleared."""
    nb, _ = ClearOutput().preprocess(nbformat.from_dict(source), {})
    return nb


def _write_pair(nb: nbformat.NotebookNode, ipynb: Path) -> None:
    ipynb.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    nbformat.write(nb, ipynb)
    jupytext.write(nb, ipynb.with_suffix(".py"), fmt="py:percent")


def publish(dest: Path = DEFAULT_DEST, with_solutions: bool = False,
            root: Path | None = None) -> Release:
    """Write a runnable copy of the project to ``dest`` (replaced if it exists).

    Args:
        dest: output folder (relative paths are taken from the project root).
        with_solutions: write the instructor's reference copy instead of the student release.
        root: project to copy (default: this one).

    Raises:
        ValueError: ``dest`` is the project itself or contains it.
    """
    root = (root or settings.root).resolve()
    dest = (dest if dest.is_absolute() else root / dest).resolve()
    if dest == root or root.is_relative_to(dest):
        raise ValueError(f"destino {dest} no válido: no puede ser el proyecto ni contenerlo")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for entry in COPIED:
        src = root / entry
        if src.is_dir():
            shutil.copytree(src, dest / entry, ignore=IGNORED)
        elif src.exists():
            shutil.copy2(src, dest / entry)
    written = []
    for name in sorted(set(COURSE_NOTEBOOKS.values())):
        folder = root / "notebooks" / name
        if not (folder / f"{name}.py").exists():
            continue
        shutil.copytree(folder, dest / "notebooks" / name, ignore=shutil.ignore_patterns(
            "__pycache__", ".ipynb_checkpoints", f"{name}.py", f"{name}.ipynb"))
        source = authoring.read_source(folder / f"{name}.py")
        nb = reference_notebook(source) if with_solutions else student_notebook(source)
        target = dest / "notebooks" / name / f"{name}.ipynb"
        _write_pair(nb, target)
        written.append(target)
    return Release(dest, with_solutions, written)
