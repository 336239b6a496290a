"""The student portfolio: built from the graded submission, never showing hidden checks."""

from __future__ import annotations

import nbformat
import pytest
from opsbook.cli import curso
from opsbook.course import portfolio, screenshots
from opsbook.course.submission import SubmissionError

pytestmark = pytest.mark.unit

SOLUTION = "def regla_moneda(ventas):\n    return ventas['moneda'].str.isupper()  # MI_SOLUCION"
HIDDEN = "### BEGIN HIDDEN TESTS\nassert _SECRETO_OCULTO == 42\n### END HIDDEN TESTS"


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def executed_notebook() -> nbformat.NotebookNode:
    """A small executed day-1 notebook: headings, a solution, a visible and a hidden check."""
    nb = nbformat.v4.new_notebook()
    solution = _cell("code", SOLUTION, grade=False, grade_id="ej2_solucion", locked=False,
                     solution=True)
    solution.outputs = [nbformat.v4.new_output("stream", name="stdout", text="filas: 7\n")]
    hidden = _cell("code", HIDDEN, grade=True, grade_id="ej2_ocultas", locked=True, points=3,
                   solution=False)
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="SALIDA_OCULTA\n")]
    nb.cells = [
        _cell("markdown", "## 6. Ejercicio 1 · Una revisión de DAGs"),
        _cell("markdown", "## 7. Ejercicio 2 · Una regla de validación de moneda\n\nTexto."),
        solution,
        _cell("code", "assert regla_moneda is not None", grade=True, grade_id="ej2_publicas",
              locked=True, points=2, solution=False),
        hidden,
        _cell("markdown", "## 9. Preguntas de verificación"),
        _cell("markdown", "Porque la CI bloquea antes (MI_RESPUESTA)", grade=True,
              grade_id="p4_abierta", locked=False, points=2, solution=True),
    ]
    return nb


@pytest.fixture
def graded(tmp_path):
    out = tmp_path / "calificaciones"
    day1 = out / "ana" / "dia_1"
    day1.mkdir(parents=True)
    nbformat.write(executed_notebook(), day1 / "ejecutado.ipynb")
    (out / "calificaciones.csv").write_text(
        "alumno,dia,ejercicio,criterio,puntos,maximo\n"
        "ana,1,ej1,ej1_publicas,2.0,2.0\n"
        "ana,1,ej1,ej1_ocultas,3.0,3.0\n"
        "ana,1,ej2,ej2_publicas,2.0,2.0\n"
        "ana,1,ej2,ej2_ocultas,0.0,3.0\n"
        "beto,1,ej1,ej1_publicas,2.0,2.0\n"
        "ana,2,ej1,ej1_publicas,4.0,4.0\n")
    return out


def test_solution_cells_keep_the_student_work_and_drop_hidden_checks():
    cells = portfolio.solution_cells(executed_notebook())
    assert [c.grade_id for c in cells] == ["ej2_solucion", "p4_abierta"]
    assert cells[0].outputs == ["filas: 7"] and cells[1].kind == "markdown"
    smuggled = _cell("code", HIDDEN, grade=False, grade_id="ej9_solucion", solution=True)
    nb = nbformat.v4.new_notebook(cells=[smuggled])
    assert portfolio.solution_cells(nb) == []


def test_portfolio_page_shows_solution_scores_roles_and_hides_tests(graded, tmp_path):
    result = portfolio.write(portfolio.build("ana", graded), tmp_path / "port", pdf=False)
    assert result.html == tmp_path / "port" / "ana" / "portafolio.html"
    html = result.html.read_text()
    assert "MI_SOLUCION" in html and "MI_RESPUESTA" in html and "filas: 7" in html
    assert "SECRETO_OCULTO" not in html and "SALIDA_OCULTA" not in html
    assert "HIDDEN TESTS" not in html and "assert regla_moneda" not in html
    day1, day2 = result.days[0], result.days[1]
    assert [(s.exercise, s.points, s.maximum) for s in day1.scores] == [
        ("ej1", 5.0, 5.0), ("ej2", 2.0, 5.0)]
    assert day1.scores[1].title == "Una regla de validación de moneda"
    assert day1.role.name == "Data engineer" and day2.role.name == "SRE / on-call"
    assert [d.role.name for d in result.days[2:]] == [
        "SRE / on-call", "Platform engineer", "Analytics engineer"]
    assert "2 / 5" in html and "Data engineer" in html and "Analytics engineer" in html


def test_ungraded_days_are_listed_and_missing_notebook_is_said(graded, tmp_path):
    result = portfolio.build("ana", graded)
    assert [d.day for d in result.days] == [1, 2, 3, 4, 5]
    assert [d.graded for d in result.days] == [True, True, False, False, False]
    assert "entrega ausente" in result.days[1].note
    html = portfolio.render(result)
    assert html.count("sin calificar") >= 3


def test_next_steps_name_the_weak_exercise_or_the_general_step(graded):
    steps = portfolio.build("ana", graded).next_steps
    assert [(s.day, s.exercise) for s in steps] == [(1, "ej2")]
    assert steps[0].text == portfolio.SUGGESTIONS[(1, "ej2")]
    full = portfolio.build("beto", graded).next_steps
    assert [s.text for s in full] == [portfolio.GENERAL_NEXT_STEP]
    unknown = portfolio.next_steps([portfolio.DayPortfolio(
        4, "dia_4_escalado", portfolio.ROLES[4], True,
        [portfolio.ExerciseScore("ej9", "Escalar workers", 1.0, 4.0)])])  # no advice of its own
    assert "Escalar workers" in unknown[0].text and "Celery" in unknown[0].text


def test_clear_errors_for_bad_id_unknown_student_and_missing_folder(graded, tmp_path):
    with pytest.raises(SubmissionError, match="identificador de alumno válido"):
        portfolio.build("Ana López", graded)
    with pytest.raises(portfolio.PortfolioError, match="alumnos calificados: ana, beto"):
        portfolio.build("carla", graded)
    with pytest.raises(portfolio.PortfolioError, match="no existe la carpeta de calificaciones"):
        portfolio.build("ana", tmp_path / "nada")
    (tmp_path / "vacia").mkdir()
    with pytest.raises(portfolio.PortfolioError, match="no tiene calificaciones.csv"):
        portfolio.build("ana", tmp_path / "vacia")


def test_cli_writes_page_and_reports_missing_chromium(graded, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(screenshots, "browser", lambda: None)
    import argparse

    parser = argparse.ArgumentParser()
    curso.register(parser.add_subparsers())
    args = parser.parse_args(["curso", "portafolio", "--alumno", "ana", "--calificaciones",
                              str(graded), "--salida", str(tmp_path / "port")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "port" / "ana" / "portafolio.html").is_file()
    assert "días calificados: 1, 2 de 5" in out and "Chromium no está instalado" in out
    args = parser.parse_args(["curso", "portafolio", "--alumno", "zoe", "--calificaciones",
                              str(graded)])
    assert args.func(args) == 2
    assert "ERROR: el alumno 'zoe' no tiene calificaciones" in capsys.readouterr().err


def test_cells_tagged_portafolio_add_their_outputs_not_their_source():
    evidence = nbformat.v4.new_code_cell("display(Markdown(texto))  # CODIGO_INSTRUCTOR")
    evidence.metadata["tags"] = ["portafolio"]
    evidence.outputs = [nbformat.v4.new_output(
        "display_data", data={"text/markdown": "## Arrancar MI_README", "text/plain": "<M>"})]
    untagged = nbformat.v4.new_code_cell("print('x')")
    untagged.outputs = [nbformat.v4.new_output("stream", name="stdout", text="NO_SALE\n")]
    sneaky = nbformat.v4.new_code_cell(HIDDEN)
    sneaky.metadata["tags"] = ["portafolio"]
    sneaky.outputs = [nbformat.v4.new_output("stream", name="stdout", text="SALIDA_OCULTA\n")]
    nb = nbformat.v4.new_notebook(cells=[evidence, untagged, sneaky])
    cells = portfolio.solution_cells(nb)
    assert [(c.kind, c.source, c.outputs) for c in cells] == [
        ("evidencia", "", ["## Arrancar MI_README"])]


def test_every_graded_exercise_of_the_week_has_its_own_next_step():
    """A student who loses points anywhere gets advice for that exercise, not a generic line."""
    from opsbook.course import authoring
    from opsbook.course.days import COURSE_NOTEBOOKS

    missing = []
    for day in sorted(COURSE_NOTEBOOKS):
        crit = authoring.criteria(authoring.read_source(authoring.source_path(day)))
        missing += sorted({(day, c.exercise) for c in crit if not c.manual
                           and (day, c.exercise) not in portfolio.SUGGESTIONS})
    assert not missing, missing
