"""Every day notebook: .py/.ipynb pair in sync and the notebook conventions respected."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("notebooks/dia_*/dia_*.py"))

_spec = importlib.util.spec_from_file_location("nbsync", ROOT / "scripts" / "nbsync.py")
nbsync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbsync)

pytestmark = pytest.mark.unit


def test_there_are_day_notebooks():
    assert SOURCES, "no hay cuadernos notebooks/dia_*/dia_*.py"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.parent.name)
def test_pair_in_sync(py):
    assert nbsync.in_sync(py) == []


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.parent.name)
def test_notebook_conventions(py):
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("#"), "título primero"
    assert "objetivo" in first.source.lower(), "la primera celda debe declarar los objetivos"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactamente una celda con la etiqueta 'parameters'"
    assert nb.metadata["kernelspec"]["name"] == "opsbook"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any(c.source.lstrip().startswith("assert") or "\nassert " in c.source for c in code)
    assert any("write_summary" in c.source for c in code), "debe escribir resumen.json"
    errors = [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, "el cuaderno versionado no debe guardar errores"
