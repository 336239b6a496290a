"""Day-5 assignment checks (docstrings, SCQA slide, operator's README) without a stack."""

from __future__ import annotations

import pytest
from opsbook.course import day5_assignment as d5
from opsbook.settings import settings
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Inches

pytestmark = pytest.mark.unit


def documented(total: int, ok: int) -> float:
    """Share of good runs.

    Args:
        total: runs counted.
        ok: runs that succeeded.

    Returns:
        The percentage.

    Raises:
        ValueError: if ``total`` is not positive.
    """
    if total <= 0:
        raise ValueError(total)
    return 100 * ok / total


def half_documented(total: int, ok: int) -> float:
    """Share of good runs.

    Args:
        total: runs counted.

    Returns:
        The percentage.
    """
    if total <= 0:
        raise ValueError(total)
    return 100 * ok / total


def undocumented(x):
    return x


def test_docstring_problems_accepts_a_complete_google_docstring():
    assert d5.docstring_problems([documented]) == []


def test_docstring_problems_names_what_is_missing():
    problems = d5.docstring_problems([half_documented, undocumented])
    text = "\n".join(problems)
    assert "D417" in text and "D103" in text and "doccheck" in text
    assert "'ok' no está en Args" in text and "lanza ValueError" in text
    assert d5.docstring_problems([half_documented], semantic=False) != []


def _slide(path, values, parts=d5.SCQA_PARTS, title="Conclusión: la pila está sana"):
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.left, slide.shapes.title.width = Inches(0.5), Inches(12)
    slide.shapes.title.text = title
    box = slide.shapes.add_textbox(Inches(0.5), Inches(2), Inches(5), Inches(4))
    box.text_frame.text = " ".join(f"{p}: {v}" for p, v in zip(parts, values, strict=False))
    data = CategoryChartData()
    data.categories = list(d5.FIGURES)
    data.add_series("s", values)
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(6), Inches(2), Inches(6),
                           Inches(5), data)
    prs.save(path)
    return path


def test_slide_problems_compares_the_chart_with_the_figures(tmp_path):
    figures = dict(zip(d5.FIGURES, [7, 5, 12, 3], strict=True))
    good = _slide(tmp_path / "ok.pptx", [7, 5, 12, 3])
    assert d5.slide_problems(good, figures) == []
    wrong = _slide(tmp_path / "ko.pptx", [7, 5, 11, 3], parts=d5.SCQA_PARTS[:2], title="Hola")
    problems = "\n".join(d5.slide_problems(wrong, figures))
    assert "gráfico" in problems and "Pregunta" in problems and "título" in problems
    missing = tmp_path / "none.pptx"
    assert d5.slide_problems(missing, figures) == [f"no existe {missing}"]


def _readme(conf, command="opsbook stack status"):
    p = conf.ports
    return (f"## Arrancar\n```bash\nopsbook stack up\n```\n## Comprobar\n```bash\n{command}\n```\n"
            f"http://127.0.0.1:{p.airflow}/ http://127.0.0.1:{p.prometheus}/graph "
            f"http://127.0.0.1:{p.alertmanager}/\n## Parar\n`opsbook stack down`\n"
            "## Si algo falla\nmira los registros\n")


def test_readme_problems_uses_the_real_command_line_and_ports():
    assert d5.readme_problems(_readme(settings), settings, live=False) == []
    moved = d5.shifted(settings, 1000)
    assert moved.ports.airflow == settings.ports.airflow + 1000
    assert moved.ports.postgres == settings.ports.postgres
    problems = "\n".join(d5.readme_problems(_readme(settings, "opsbook stack estado"), moved,
                                            live=False))
    assert "opsbook stack estado` no es un comando" in problems
    assert f"el puerto {settings.ports.airflow} no es de esta pila" in problems
    assert "falta el comando `opsbook stack status`" in problems
    assert "## Parar" in "\n".join(d5.readme_problems("## Arrancar\n", settings, live=False))


def test_student_dir_is_per_student_and_validated(tmp_path, monkeypatch):
    monkeypatch.setattr("opsbook.evidence.day_dir", lambda day: tmp_path / f"dia_{day}")
    assert d5.student_dir("ana").name == "ana" and d5.student_dir("beto") != d5.student_dir("ana")
    with pytest.raises(ValueError):
        d5.student_dir("../otro")
    assert d5.student_dir("ana") == tmp_path / "dia_5" / "alumnos" / "ana"


def test_fresh_file_removes_what_an_earlier_run_left(tmp_path, monkeypatch):
    monkeypatch.setattr("opsbook.evidence.day_dir", lambda day: tmp_path / f"dia_{day}")
    old = d5.student_dir("ana") / "scqa.pptx"
    old.write_bytes(b"diapositiva de una entrega anterior")
    other = d5.student_dir("beto") / "scqa.pptx"
    other.write_bytes(b"la de otro alumno")
    path = d5.fresh_file("ana", "scqa.pptx")
    assert path == old and not path.exists() and other.read_bytes() == b"la de otro alumno"
    for bad in ("../beto/scqa.pptx", "..", ""):
        with pytest.raises(ValueError):
            d5.fresh_file("ana", bad)
