"""The closing recap recognises check cells in a real IPython shell and reads the gradebook."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from opsbook.course import authoring, cell_log, gradebook, recap, release


@pytest.fixture(scope="module")
def day1():
    return authoring.read_source(authoring.source_path(1))


def _cell(nb, gid):
    return next(c for c in nb.cells if authoring.grade_id(c) == gid)


def test_public_text_drops_the_hidden_region_and_margins():
    src = "assert x\n\n### BEGIN HIDDEN TESTS\nassert secret\n### END HIDDEN TESTS\n  print(x)  \n"
    assert cell_log.public_text(src) == "assert x\nprint(x)"


def test_release_check_cells_keep_the_visible_text_of_the_source(day1):
    student = release.student_notebook(authoring.read_source(authoring.source_path(1)))
    shown = {cell_log.public_text(c.source) for c in student.cells if c.cell_type == "code"}
    checks = [cell_log.public_text(c.source) for c in day1.cells
              if c.cell_type == "code" and authoring.grade_id(c)
              and c.metadata["nbgrader"].get("grade") and cell_log.public_text(c.source)]
    assert len(checks) >= 3
    assert set(checks) <= shown


def test_hook_records_what_each_check_cell_did_in_a_real_shell(day1):
    shell = InteractiveShell.instance()
    try:
        assert cell_log.start() and cell_log.start()  # idempotent: one hook only
        assert shell.events.callbacks["post_run_cell"].count(cell_log._on_cell) == 1
        shell.run_cell("respuesta_p1 = 3")
        shell.run_cell(_cell(day1, "p1").source)       # hidden part included, like the grader
        shell.run_cell(_cell(day1, "ej2_publicas").source)  # names undefined → fails
        by = {e.exercise: e for e in recap.build(1, "ana").exercises}
        assert by["preguntas"].visible["p1"] == recap.FAILED  # hidden check wants the right count
        shell.run_cell("from opsbook.airflow import dag_drill; "
                       "respuesta_p1 = len(dag_drill.DRILL_SAMPLES)")
        shell.run_cell(cell_log.public_text(_cell(day1, "p1").source))  # the release's copy
        by = {e.exercise: e for e in recap.build(1, "ana").exercises}
        assert by["preguntas"].visible["p1"] == recap.PASSED
        assert by["ej2"].visible["ej2_publicas"] == recap.FAILED
        assert by["ej1"].visible["ej1_publicas"] == recap.NOT_RUN
        assert "ej1_ocultas" in by["ej1"].hidden
        assert not by["ej2"].proved
        assert "✘" in recap.build(1, "ana").text()
    finally:
        cell_log.stop()
        InteractiveShell.clear_instance()
    assert cell_log.outcome("respuesta_p1 = 3") is None


def test_recap_adds_the_graders_points_when_the_day_was_graded(tmp_path, day1):
    pd.DataFrame([{"alumno": "ana", "dia": 1, "ejercicio": "ej1", "criterio": "ej1_publicas",
                   "puntos": 2.0, "maximo": 2.0},
                  {"alumno": "ana", "dia": 1, "ejercicio": "ej1", "criterio": "ej1_ocultas",
                   "puntos": 0.0, "maximo": 3.0},
                  {"alumno": "beto", "dia": 1, "ejercicio": "ej2", "criterio": "ej2_publicas",
                   "puntos": 2.0, "maximo": 2.0}],
                 columns=gradebook.COLUMNS).to_csv(tmp_path / gradebook.GRADES_FILE, index=False)
    got = recap.build(1, "ana", grades_dir=tmp_path)
    total, top = got.graded_total
    assert total == 2.0 and top == sum(c.points for c in authoring.criteria(day1) if not c.manual)
    assert "2 / " in got.text()
    assert recap.build(1, "carla", grades_dir=tmp_path).graded_total is None
    frame = got.frame()
    assert list(frame["ejercicio"])[:3] == ["ej1", "ej2", "ej3"]
    assert "Una revisión de DAGs" in frame.loc[0, "qué demuestra"]
