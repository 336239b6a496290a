#!/usr/bin/env python
"""Regenerate a day notebook's ``.ipynb`` from its jupytext ``.py`` source.

Why this script exists: the ``.py`` (jupytext percent format) is what we edit and review; the
``.ipynb`` is what students open, papermill runs and nbval checks. The committed ``.ipynb``
carries no outputs except those of cells marked ``# NBVAL_CHECK_OUTPUT`` (deterministic
summaries nbval compares); everything else is stripped so the repo never holds stale results.

Usage:
    python scripts/nbsync.py notebooks/dia_1_testing/dia_1_testing.py [--execute] [--check]

``--execute`` first runs the notebook with papermill (kernel ``opsbook``, cwd = its folder)
against whatever stack the environment points to and keeps the outputs of the checked cells;
without it, checked outputs are carried over from the existing ``.ipynb`` when the cell source
is unchanged. ``--check`` only verifies that the pair is in sync (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
from opsbook.course.kernels import KERNEL, KERNELSPEC, PrivateIpcAsyncKernelManager

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def from_source(py: Path) -> nbformat.NotebookNode:
    """Read the ``.py`` source as a notebook with the project kernel and no outputs."""
    nb = jupytext.read(py)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata.pop("jupytext", None)
    seen: dict[str, int] = {}
    for cell in nb.cells:
        # Stable cell ids (hash of type + source, numbered when repeated): regenerating an
        # unchanged cell gives the same id, so branches that edit different cells merge cleanly.
        digest = hashlib.sha1(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()[:12]
        seen[digest] = seen.get(digest, 0) + 1
        cell.id = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def checked_outputs(nb: nbformat.NotebookNode) -> dict[str, tuple]:
    """Map source → (outputs, execution_count) of the executed ``NBVAL_CHECK_OUTPUT`` cells."""
    return {
        c.source: (c.outputs, c.execution_count)
        for c in nb.cells
        if c.cell_type == "code" and CHECK_MARK in c.source and c.execution_count
    }


def execute(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run ``nb`` with papermill in ``folder`` and return the executed notebook."""
    import papermill

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.ipynb", Path(tmp) / "out.ipynb"
        nbformat.write(nb, src)
        papermill.execute_notebook(str(src), str(out), kernel_name=KERNEL, cwd=str(folder),
                                   progress_bar=True,
                                   kernel_manager_class=PrivateIpcAsyncKernelManager)
        return nbformat.read(out, as_version=4)


def sync(py: Path, run: bool) -> Path:
    """Write the ``.ipynb`` paired with ``py`` and return its path."""
    target = py.with_suffix(".ipynb")
    nb = from_source(py)
    if run:
        keep = checked_outputs(execute(nb, py.parent))
    elif target.exists():
        keep = checked_outputs(nbformat.read(target, as_version=4))
    else:
        keep = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source in keep:
            outputs, count = keep[cell.source]
            cell.outputs = [o for o in outputs if o.get("output_type") != "error"]
            cell.execution_count = count
    nbformat.validate(nb)
    nbformat.write(nb, target)
    return target


def in_sync(py: Path) -> list[str]:
    """Return the differences between ``py`` and its ``.ipynb`` (empty when in sync)."""
    target = py.with_suffix(".ipynb")
    if not target.exists():
        return [f"{target} no existe: ejecuta scripts/nbsync.py {py}"]
    want = from_source(py)
    have = nbformat.read(target, as_version=4)
    problems = []
    def shape(nb):
        return [(c.cell_type, c.source) for c in nb.cells]

    if shape(want) != shape(have):
        problems.append(f"{target} no coincide con {py}: ejecuta scripts/nbsync.py {py}")
    for c in have.cells:
        if c.cell_type == "code" and c.outputs and CHECK_MARK not in c.source:
            problems.append(f"{target}: celda con salidas guardadas sin {CHECK_MARK}")
            break
    return problems


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path)
    parser.add_argument("--execute", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    status = 0
    for py in args.sources:
        if args.check:
            for problem in in_sync(py):
                print(problem)
                status = 1
        else:
            print(f"escrito {sync(py, args.execute)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
