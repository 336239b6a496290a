"""Release stripping and grading of every kind of submission, on a minimal day-1 notebook.

The notebook is tiny and needs no stack, but everything else is real: nbgrader's
preprocessors, the ``opsbook`` kernel, cell-by-cell execution with timeouts, the merge with
the instructor's source, the gradebook and the feedback pages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from opsbook.course import authoring, cohort, gradebook, release, submission

SOURCE = '''# ---
# jupyter:
#   kernelspec:
#     display_name: Python (opsbook)
#     language: python
#     name: opsbook
# ---

# %% [markdown]
# # Día 1 mínimo

# %% tags=["parameters"]
alumno = "referencia"

# %%
visto = alumno

# %% nbgrader={"grade": false, "grade_id": "ej1_solucion", "locked": false, "schema_version": 3, "solution": true}
def doble(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ej1_publicas", "locked": true, "points": 1, "schema_version": 3, "solution": false}
assert doble(2) == 4
### BEGIN HIDDEN TESTS
assert doble(-3) == -6, "OCULTA_EJ1_NEGATIVOS"
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "ej2_solucion", "locked": false, "schema_version": 3, "solution": true}
### BEGIN SOLUTION
clave = f"ventas-{alumno}"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ej2_ocultas", "locked": true, "points": 2, "schema_version": 3, "solution": false}
### BEGIN HIDDEN TESTS
assert clave == f"ventas-{visto}", "OCULTA_EJ2_ESPACIO"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "p9_abierta", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# Respuesta del instructor: porque SOLUCION_ABIERTA.
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("proyecto")
    folder = root / "notebooks" / "dia_1_testing"
    folder.mkdir(parents=True)
    (folder / "dia_1_testing.py").write_text(SOURCE)
    (root / "README.md").write_text("# copia\n")
    return root


def _student_copy(project: Path, dest: Path, with_solutions: bool) -> Path:
    release.publish(dest, with_solutions=with_solutions, root=project)
    return dest / "notebooks" / "dia_1_testing" / "dia_1_testing.ipynb"


def _edit(nb_path: Path, grade_id: str, source: str) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if authoring.grade_id(cell) == grade_id:
            cell.source = source
    nbformat.write(nb, nb_path)


@pytest.mark.unit
def test_release_has_no_solution_hidden_test_or_marker(project, tmp_path):
    nb_path = _student_copy(project, tmp_path / "alumno", with_solutions=False)
    text = "".join(p.read_text() for p in (tmp_path / "alumno").rglob("*") if p.is_file())
    for trace in (*release.TRACES, "OCULTA_EJ1", "OCULTA_EJ2", "return 2 * x",
                  "clave = f", "SOLUCION_ABIERTA", "ej2_ocultas"):
        assert trace not in text, trace
    nb = nbformat.read(nb_path, as_version=4)
    graded = [authoring.grade_id(c) for c in nb.cells if authoring.grade_id(c)]
    assert graded == ["ej1_solucion", "ej1_publicas", "ej2_solucion", "p9_abierta"]
    assert "assert doble(2) == 4" in text  # public checks stay visible
    assert nb_path.with_suffix(".py").exists()
    locked = [c for c in nb.cells if authoring.grade_id(c) == "ej1_publicas"][0]
    assert locked.metadata.get("editable") is False


@pytest.mark.unit
def test_reference_copy_keeps_solutions(project, tmp_path):
    nb_path = _student_copy(project, tmp_path / "ref", with_solutions=True)
    text = nb_path.read_text()
    assert "OCULTA_EJ1_NEGATIVOS" in text and "BEGIN SOLUTION" in text


@pytest.mark.unit
def test_publish_refuses_to_overwrite_the_project(project):
    with pytest.raises(ValueError, match="no puede ser el proyecto"):
        release.publish(project, root=project)


@pytest.fixture(scope="module")
def cohort_run(project, tmp_path_factory):
    subs = tmp_path_factory.mktemp("entregas")
    ref = _student_copy(project, subs / "referencia", with_solutions=True)
    _student_copy(project, subs / "intacta", with_solutions=False)
    crash = _student_copy(project, subs / "rompe", with_solutions=False)
    _edit(crash, "ej1_solucion", "def doble(x):\n    raise ValueError('no sé')")
    _edit(crash, "ej2_solucion", 'clave = f"ventas-{alumno}"')
    hang = _student_copy(project, subs / "cuelga", with_solutions=False)
    _edit(hang, "ej1_solucion", "while True:\n    pass")
    _edit(hang, "ej2_solucion", 'clave = f"ventas-{alumno}"')
    tamper = _student_copy(project, subs / "trampa", with_solutions=False)
    _edit(tamper, "ej1_publicas", "pass")
    _edit(tamper, "ej1_solucion", "def doble(x):\n    return 4")
    copied = _student_copy(project, subs / "copia", with_solutions=False)
    executed = nbformat.read(ref, as_version=4)
    from nbclient import NotebookClient
    NotebookClient(executed, kernel_name="opsbook").execute()
    stub = nbformat.read(copied, as_version=4)
    kept = {authoring.grade_id(c) for c in stub.cells}
    outputs = [c.get("outputs") for c in executed.cells
               if authoring.grade_id(c) is None or authoring.grade_id(c) in kept]
    for cell, out in zip(stub.cells, outputs, strict=True):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = out, 1
    nbformat.write(stub, copied)
    out = tmp_path_factory.mktemp("calificaciones")
    seen = []
    result = cohort.grade_cohort(
        1, [subs / n for n in ("referencia", "intacta", "rompe", "cuelga", "trampa", "copia")],
        out, cell_timeout_s=3, progress=lambda s, k, n, w: seen.append((s, k, n)), root=project)
    return result, {g.student: g for g in result.grades}, seen


def _pct(grade) -> float:
    got, top = grade.automatic
    return 100 * got / top


@pytest.mark.unit
def test_reference_scores_full_and_untouched_zero(cohort_run):
    _, g, _ = cohort_run
    assert _pct(g["referencia"]) == 100 and not g["referencia"].flags
    assert _pct(g["intacta"]) == 0


@pytest.mark.unit
def test_crash_and_hang_cost_only_their_exercise(cohort_run):
    _, g, _ = cohort_run
    for name in ("rompe", "cuelga"):
        by = {r.criterion: r for r in g[name].results}
        assert by["ej1_publicas"].points == 0 and by["ej2_ocultas"].points == 2, name
    assert "timeout" in g["cuelga"].flags and "error" in g["rompe"].flags
    assert any(c.status == "timeout" and c.grade_id == "ej1_solucion" for c in g["cuelga"].cells)


@pytest.mark.unit
def test_tampering_is_reported_and_never_scores(cohort_run):
    _, g, _ = cohort_run
    assert "tampering" in g["trampa"].flags
    assert g["trampa"].tampering == ["celda de comprobación ej1_publicas modificada"]
    assert {r.criterion: r.points for r in g["trampa"].results}["ej1_publicas"] == 0


@pytest.mark.unit
def test_copied_outputs_score_like_untouched(cohort_run):
    _, g, _ = cohort_run
    assert g["copia"].automatic == g["intacta"].automatic


@pytest.mark.unit
def test_gradebook_files_and_progress(cohort_run):
    result, g, seen = cohort_run
    book = pd.read_csv(result.out / gradebook.GRADES_FILE)
    assert list(book.columns) == gradebook.COLUMNS
    assert set(book["alumno"]) == set(g) and set(book["criterio"]) == {"ej1_publicas",
                                                                       "ej2_ocultas"}
    manual = pd.read_csv(result.out / gradebook.MANUAL_FILE)
    assert "SOLUCION_ABIERTA" in manual.set_index("alumno").loc["referencia", "respuesta"]
    for name in g:
        assert (result.out / name / "dia_1" / "feedback.html").exists()
    assert (result.out / "referencia" / "dia_1" / "ejecutado.ipynb").exists()
    assert "<svg" in result.index.read_text()
    assert ("cuelga", 4, 6) in seen


@pytest.mark.unit
def test_regrading_replaces_only_that_day_and_students(cohort_run, project, tmp_path):
    result, g, _ = cohort_run
    out = tmp_path / "cal"
    shutil.copytree(result.out, out)
    book = pd.read_csv(out / gradebook.GRADES_FILE)
    other_day = book[book["alumno"] == "intacta"].assign(dia=2)
    pd.concat([book, other_day]).to_csv(out / gradebook.GRADES_FILE, index=False)
    grade = g["referencia"]
    gradebook.update(out, 1, [grade])
    after = pd.read_csv(out / gradebook.GRADES_FILE)
    assert len(after) == len(book) + len(other_day)
    assert (after[(after.alumno == "referencia") & (after.dia == 1)]["puntos"].sum()
            == grade.automatic[0])


@pytest.mark.unit
def test_bad_arguments_fail_clearly(project, tmp_path):
    with pytest.raises(ValueError, match="día 9 desconocido"):
        cohort.grade_cohort(9, [tmp_path], tmp_path / "o", root=project)
    with pytest.raises(submission.SubmissionError, match="no existe"):
        cohort.grade_cohort(1, [tmp_path / "nadie"], tmp_path / "o", root=project)
    (tmp_path / "vacia").mkdir()
    with pytest.raises(submission.SubmissionError, match="no es una entrega"):
        cohort.grade_cohort(1, [tmp_path / "vacia"], tmp_path / "o", root=project)
    (tmp_path / "Mal Nombre").mkdir()
    with pytest.raises(submission.SubmissionError, match="identificador"):
        cohort.grade_cohort(1, [tmp_path / "Mal Nombre"], tmp_path / "o", root=project)


@pytest.mark.unit
def test_missing_day_notebook_is_flagged(project, tmp_path):
    folder = tmp_path / "sin-dia"
    (folder / "notebooks").mkdir(parents=True)
    result = cohort.grade_cohort(1, [folder], tmp_path / "o", root=project)
    assert result.grades[0].flags == ["missing"] and result.grades[0].automatic == (0, 3)
