"""The papermill runner: order, failure recording, continuation, HTML export with hidden params."""

from __future__ import annotations

import json

import nbformat
import pytest
from opsbook.course import runner as notebooks

pytestmark = [pytest.mark.unit, pytest.mark.slow]


def _notebook(folder, cells):
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "opsbook", "display_name": "Python (opsbook)",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("factor = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# prueba"), params,
                *(nbformat.v4.new_code_cell(c) for c in cells)]
    path = folder / f"{folder.name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def workbook(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSBOOK_EVIDENCE_DIR", str(tmp_path / "evidencia"))
    root = tmp_path / "notebooks"
    # cwd must be the notebook's own folder: the first notebook reads a file that sits there
    ok = _notebook(root / "dia_1_bien", ["open('dato.txt').read()",
                                         "print('resultado', 21 * factor)"])
    (ok.parent / "dato.txt").write_text("hola")
    _notebook(root / "dia_2_roto", ["x = 1", "raise ValueError('fallo a propósito')",
                                    "print('nunca')"])
    _notebook(root / "dia_3_final", ["print('sigue', factor)"])
    _notebook(root / "dia_4_assert", ["valor = 2", "assert valor == 3"])
    (root / "dia_3_final" / "otro.ipynb").write_text("{}")  # not a day notebook: ignored
    return root


def test_run_continues_after_a_failure_and_records_the_cell(workbook, tmp_path):
    found = notebooks.discover(notebooks_dir=workbook)
    assert [p.stem for p in found] == ["dia_1_bien", "dia_2_roto", "dia_3_final", "dia_4_assert"]
    # the failing day comes first: the next one must still run
    runs = notebooks.run_all(only=["dia_2", "dia_3", "dia_4"], notebooks_dir=workbook,
                             progress=False, preflight_first=False)
    assert [(r.name, r.status) for r in runs] == [("dia_2_roto", "failed"),
                                                  ("dia_3_final", "passed"),
                                                  ("dia_4_assert", "failed")]
    assert runs[2].error == "AssertionError: línea 1: assert valor == 3", "bare assert: show it"
    failed = runs[0]
    assert failed.cell_index == 3 and failed.failed_cell is not None  # title, params, x=1, raise
    assert failed.error.startswith("ValueError: fallo a propósito")
    assert all(r.seconds > 0 for r in runs)
    # a later --only run merges its row with the others, in day order
    first = notebooks.run_all(only=["dia_1"], notebooks_dir=workbook, parameters={"factor": 2},
                              progress=False, preflight_first=False)
    assert first[0].status == "passed"
    status = json.loads((tmp_path / "evidencia/html/estado.json").read_text())
    assert [row["name"] for row in status] == ["dia_1_bien", "dia_2_roto", "dia_3_final",
                                               "dia_4_assert"]

    rows = notebooks.export_all()
    page = (tmp_path / "evidencia" / rows[0].html).read_text()
    assert "resultado 42" in page, "the executed output (factor injected = 2) is exported"
    assert "factor = 2" not in page, "papermill's injected-parameters cell must be hidden"
    assert "jp-Notebook" in page, "nbconvert lab template"
    assert all((tmp_path / "evidencia" / r.html).exists() for r in rows)
    broken = (tmp_path / "evidencia" / rows[1].html).read_text()
    assert "fallo a propósito" in broken, "the failing cell's traceback is in its HTML"


def test_only_with_no_match_names_what_exists(workbook):
    with pytest.raises(ValueError, match="dia_1_bien"):
        notebooks.discover(["dia_9"], notebooks_dir=workbook)
