"""The cohort gradebook: ``calificaciones.csv``, ``revision_manual.csv`` and ``index.html``.

Why this module exists: grading day after day into the same folder must accumulate the week —
regrading a day replaces that day's rows of the students graded now and keeps everything
else — and the instructor needs one page with every student × exercise, totals, the
distribution and what to look at (timeouts, errors, tampering, missing submissions).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jinja2
import pandas as pd

from opsbook.course import feedback
from opsbook.course.grading import Grade

GRADES_FILE = "calificaciones.csv"
MANUAL_FILE = "revision_manual.csv"
COLUMNS = ["alumno", "dia", "ejercicio", "criterio", "puntos", "maximo"]
MANUAL_COLUMNS = ["alumno", "dia", "pregunta", "maximo", "respuesta"]
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("opsbook.course", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]))


def _replace(path: Path, columns: list[str], new: pd.DataFrame, day: int,
             students: set[str]) -> pd.DataFrame:
    old = pd.read_csv(path, dtype={"alumno": str}) if path.exists() else pd.DataFrame(
        columns=columns)
    keep = old[~((old["dia"] == day) & old["alumno"].isin(students))]
    frame = pd.concat([keep, new], ignore_index=True) if len(keep) else new
    frame = frame[columns].sort_values(["dia", "alumno"], kind="stable")
    frame.to_csv(path, index=False)
    return frame


def update(out: Path, day: int, grades: list[Grade]) -> pd.DataFrame:
    """Merge this run's automatic and manual rows into the CSVs; return the gradebook."""
    out.mkdir(parents=True, exist_ok=True)
    students = {g.student for g in grades}
    rows = [{"alumno": g.student, "dia": day, "ejercicio": r.exercise, "criterio": r.criterion,
             "puntos": r.points, "maximo": r.maximum}
            for g in grades for r in g.results if not r.manual]
    manual = [{"alumno": g.student, "dia": day, "pregunta": r.criterion, "maximo": r.maximum,
               "respuesta": r.answer} for g in grades for r in g.results if r.manual]
    _replace(out / MANUAL_FILE, MANUAL_COLUMNS, pd.DataFrame(manual, columns=MANUAL_COLUMNS),
             day, students)
    return _replace(out / GRADES_FILE, COLUMNS, pd.DataFrame(rows, columns=COLUMNS), day,
                    students)


def _flags(out: Path, student: str, day: int) -> list[str]:
    path = feedback.student_dir(out, student, day) / feedback.RESULT_FILE
    if not path.exists():
        return ["missing"]
    return json.loads(path.read_text()).get("banderas", [])


def chart_svg(totals: pd.Series) -> str:
    """Inline SVG histogram of the students' automatic percentage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.hist(totals.to_numpy(), bins=list(range(0, 101, 10)), color="#3b6ea5", edgecolor="white")
    ax.set_xlabel("% de la puntuación automática")
    ax.set_ylabel("alumnos")
    ax.set_xlim(0, 100)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    return buf.getvalue().split("?>", 1)[-1]


def read(out: Path) -> pd.DataFrame:
    """The gradebook ``calificaciones.csv`` of ``out`` (student ids kept as text)."""
    return pd.read_csv(out / GRADES_FILE, dtype={"alumno": str})


def build_index(out: Path) -> Path:
    """Write the cohort ``index.html`` from the gradebook in ``out``."""
    book = read(out)
    students = sorted(book["alumno"].unique())
    days = sorted(int(d) for d in book["dia"].unique())
    sections = []
    for day in days:
        rows = book[book["dia"] == day]
        pivot = rows.pivot_table(index="alumno", columns="ejercicio", values=["puntos", "maximo"],
                                 aggfunc="sum").reindex(students)
        exercises = list(dict.fromkeys(rows["ejercicio"]))
        table = []
        for student in students:
            graded = student in set(rows["alumno"])
            cells = [{"puntos": float(pivot.loc[student, ("puntos", e)]) if graded else None,
                      "maximo": float(pivot.loc[student, ("maximo", e)]) if graded else None}
                     for e in exercises]
            got = sum(c["puntos"] or 0 for c in cells)
            top = sum(c["maximo"] or 0 for c in cells)
            table.append({"alumno": student, "celdas": cells, "puntos": got, "maximo": top,
                          "pct": round(100 * got / top, 1) if top else 0.0,
                          "banderas": _flags(out, student, day) if graded else ["missing"],
                          "feedback": f"{student}/dia_{day}/feedback.html" if graded else None})
        sections.append({"dia": day, "ejercicios": exercises, "filas": table,
                         "grafico": chart_svg(pd.Series([r["pct"] for r in table]))})
    page = out / "index.html"
    page.write_text(_ENV.get_template("gradebook.html.j2").render(
        dias=sections, alumnos=students, manual=(out / MANUAL_FILE).exists()))
    return page
