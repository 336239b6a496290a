"""The per-day profile of a run, read from papermill's cell timings (scripts/profile_run.py)."""

from __future__ import annotations

import nbformat
import pytest
from opsbook.course import run_profile

pytestmark = pytest.mark.unit


def executed(path, cells):
    """Write a notebook whose code cells carry papermill durations (None = not executed)."""
    nb = nbformat.v4.new_notebook()
    for kind, source, seconds in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            cell = nbformat.v4.new_code_cell(source)
            if seconds is not None:
                cell.metadata["papermill"] = {"duration": seconds}
            nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_profile_groups_cell_times_by_section_and_ranks_the_slowest(tmp_path):
    nb = executed(tmp_path / "dia_4_escalado.ipynb", [
        ("code", "import x", 2.0),
        ("md", "# Día 4\n## Escalado con `Celery`", None),
        ("code", "# comentario\nworkers = escalar(2)", 40.0),
        ("code", "medir()", 5.5),
        ("md", "texto sin título", None),
        ("code", "otra()", 1.0),
        ("md", "### Despliegue blue-green", None),
        ("code", "desplegar()", 90.0),
        ("code", "no_ejecutada()", None),
    ])
    p = run_profile.profile(nb)
    assert (p.name, p.day, p.seconds) == ("dia_4_escalado", 4, 138.5)
    assert [c.index for c in p.cells] == [0, 2, 3, 5, 7]
    assert p.sections == {"": 2.0, "Escalado con Celery": 46.5, "Despliegue blue-green": 90.0}
    assert [c.first_line for c in p.slowest(2)] == ["desplegar()", "workers = escalar(2)"]
    assert p.slowest_sections(1) == [("Despliegue blue-green", 90.0)]


def test_markdown_table_has_one_row_per_day_and_the_totals(tmp_path):
    executed(tmp_path / "dia_2_monitoreo.ipynb", [("md", "## A", None), ("code", "a()", 30.0)])
    executed(tmp_path / "dia_1_testing.ipynb", [("md", "## B", None), ("code", "b() | c", 10.0)])
    profiles = run_profile.profile_folder(tmp_path)
    assert [p.day for p in profiles] == [1, 2]
    table = run_profile.markdown(profiles, {"dia_1_testing": 12.0, "dia_2_monitoreo": 33.0})
    lines = table.splitlines()
    assert lines[2].startswith("| 1 | 10 | 12 | 25 | B 10 | `b() ¦ c` 10 |")
    assert lines[3].startswith("| 2 | 30 | 33 | 75 | A 30 |")
    assert lines[-1] == "| **total** | **40** | **45** | 100 | | |"


def test_doc_block_is_replaced_in_place_or_appended(tmp_path):
    doc = tmp_path / "rendimiento.md"
    doc.write_text("# R\n\nintro\n\n<!-- perfil:x -->\nviejo\n<!-- /perfil:x -->\n\nfinal\n")
    run_profile.write_doc_block(doc, "x", "nuevo\n")
    run_profile.write_doc_block(doc, "y", "otro")
    assert doc.read_text() == ("# R\n\nintro\n\n<!-- perfil:x -->\nnuevo\n<!-- /perfil:x -->\n\n"
                               "final\n\n<!-- perfil:y -->\notro\n<!-- /perfil:y -->\n")


def test_graded_cells_are_named_by_grade_id_never_quoted(tmp_path):
    """The table goes to docs/, which the student release copies: no solution line may leak."""
    nb = executed(tmp_path / "dia_1_testing.ipynb", [
        ("code", "### BEGIN SOLUTION\nsecreto_de_la_solucion(300)\n### END SOLUTION", 30.0),
        ("code", "visible()", 1.0),
    ])
    raw = nbformat.read(nb, as_version=4)
    raw.cells[0].metadata["nbgrader"] = {"grade_id": "ej3_solucion", "solution": True}
    nbformat.write(raw, nb)
    p = run_profile.profile(nb)
    assert [c.first_line for c in p.cells] == ["celda 0 (ej3_solucion)", "visible()"]
    table = run_profile.markdown([p])
    assert "secreto_de_la_solucion" not in table and "celda 0 (ej3_solucion)" in table
