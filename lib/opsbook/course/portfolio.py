"""A student's portfolio page: their graded week, the role each day proves, what to learn next.

Why this module exists: the week's last topic is the student's career, and what a student can
show an employer is their own work, not the reference run. The page is built only from the
grading output (``opsbook curso calificar``): the scores of ``calificaciones.csv`` (read with
:func:`opsbook.course.gradebook.read`) and, per graded day, the student's solution cells from
``<alumno>/dia_N/ejecutado.ipynb``. That notebook also holds the instructor's hidden checks, so
only cells nbgrader marks as solutions are shown, and never one that carries a hidden-test
region; a read-only cell tagged ``portafolio`` adds its outputs only (day 5 shows the student's
own SCQA slide and README section that way). Days without grades are listed as "sin
calificar", never dropped. The page is rendered with the course's Jinja2 templates and printed
to PDF with headless Chromium when installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import nbformat

from opsbook.course import authoring, feedback, gradebook, screenshots, submission
from opsbook.course.days import COURSE_NOTEBOOKS
from opsbook.settings import settings

DEFAULT_GRADES = Path("evidencia") / "calificaciones"
DEFAULT_OUT = Path("evidencia") / "portafolio"
PAGE = "portafolio.html"
PDF = "portafolio.pdf"
HIDDEN_MARK = "BEGIN HIDDEN TESTS"
EVIDENCE_TAG = "portafolio"
"""Cell tag: the outputs of this read-only cell show the student's work in the portfolio."""
EVIDENCE = "evidencia"
MAX_OUTPUT_CHARS = 2000
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("opsbook.course", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]))


@dataclass(frozen=True)
class Role:
    """The professional role a course day demonstrates.

    Attributes:
        name: the role as job ads name it.
        focus: Spanish summary of what the day proves in that role.
        learn_next: Spanish topics to study when the day's exercises lost points.
    """

    name: str
    focus: str
    learn_next: str


ROLES: dict[int, Role] = {
    1: Role("Data engineer", "pruebas de DAGs y validación de datos antes de producción",
            "pruebas de DAGs con pytest en CI y reglas de validación de datos (pandera, "
            "Great Expectations)"),
    2: Role("SRE / on-call", "monitoreo: paneles, reglas de alerta y su latencia medida",
            "PromQL (rate, histogram_quantile), reglas de alerta con «for:» y pruebas "
            "unitarias con promtool test rules"),
    3: Role("SRE / on-call", "respuesta a incidentes: clasificar, recuperar y escribir el "
                             "post-mortem", "clasificación de incidentes, runbooks con pasos "
            "de recuperación verificables y post-mortems sin culpables con línea temporal"),
    4: Role("Platform engineer", "escalado, compatibilidad de esquemas y despliegues sin caídas",
            "compatibilidad de esquemas, escalado de workers de Celery y despliegues "
            "blue-green con cero peticiones fallidas"),
    5: Role("Analytics engineer", "documentación y comunicación de resultados con cifras",
            "docstrings estilo Google, el marco SCQA para presentar cifras y documentación "
            "para operadores"),
}
"""Course day → role (the week's career map; days 2 and 3 are both on-call work)."""

SUGGESTIONS: dict[tuple[int, str], str] = {
    (1, "ej1"): "Practica el análisis estático de DAGs: por cada regla de dag_policy.RULES "
                "escribe una prueba de pytest con un DAG roto que la incumpla (errores de "
                "importación, owner, reintentos, Variables leídas al parsear).",
    (1, "ej2"): "Refuerza la validación de datos: escribe reglas vectorizadas con pandas y "
                "pruébalas con un caso sano, uno defectuoso y uno límite (vacío no es "
                "inválido); después mira pandera o Great Expectations.",
    (1, "ej3"): "Repasa cómo se demuestra una ejecución: disparar un DAG por la API de Airflow, "
                "esperar a que termine y comprobar su resultado en el almacén y en Prometheus.",
    (1, "preguntas"): "Relee la política de pruebas del día 1: qué bloquea la CI antes de "
                      "desplegar y por qué cada regla evita un incidente real.",
    (2, "ej1"): "Practica PromQL sobre contadores: increase() y rate() en una ventana, qué "
                "pasa cuando el contador se reinicia o empieza en N, y compara tu consulta con "
                "la del panel en la interfaz de Prometheus antes de dibujarla.",
    (2, "ej2"): "Escribe reglas de alerta con su prueba: cada regla con un caso que la dispara "
                "y otro que no en promtool test rules, y una regla rota que tu prueba detecte.",
    (2, "ej3"): "Mide el camino de una alerta: evaluación de Prometheus, «for:», group_wait de "
                "Alertmanager y entrega del webhook; identifica tu episodio por su startsAt.",
    (2, "preguntas"): "Relee cuándo una alerta debe ser warning o crítica y por qué se alerta "
                      "por síntomas (éxito, latencia, frescura) y no por cada error.",
    (3, "ej1"): "Practica pasos de recuperación idempotentes: comprueba el estado antes de "
                "actuar, actúa una vez y verifica después; prueba tu paso con el componente "
                "sano y con el componente caído.",
    (3, "ej2"): "Repasa el catálogo de incidentes: qué alerta abre cada tipo, qué diagnóstico "
                "lo confirma y cuándo se recupera solo o se escala a una persona.",
    (3, "ej3"): "Escribe post-mortems sin culpables desde datos: causa raíz, línea de tiempo "
                "con las marcas de la pila (no de memoria) y acciones con responsable.",
    (4, "ej1"): "Estudia la compatibilidad de esquemas Avro: qué cambios son BACKWARD, FORWARD "
                "o FULL (campos con valor por defecto, tipos, renombres) y pruébalo con el "
                "comprobador antes de desplegar.",
    (4, "ej2"): "Mide el escalado horizontal: duración de cada ejecución leída de Airflow, "
                "aceleración frente a una línea base y por qué E/S escala mejor que CPU.",
    (4, "ej3"): "Practica despliegues blue-green: health check de la versión nueva, cambio de "
                "tráfico en la puerta de entrada, carga continua durante el cambio y rollback.",
    (5, "preguntas"): "Relee qué documentación necesita cada lector (operador, desarrollador, "
                      "dirección) y por qué las decisiones se guardan como ADR con sus cifras.",
    (5, "ej1"): "Practica docstrings estilo Google: por cada función, Args con cada parámetro, "
                "Returns y Raises con cada excepción; pasa ruff con las reglas D (convención "
                "google) antes de entregar.",
    (5, "ej2"): "Repasa el marco SCQA y python-pptx: una idea por diapositiva, título con la "
                "conclusión y gráficos nativos alimentados con cifras medidas, nunca tecleadas.",
    (5, "ej3"): "Escribe documentación para operadores: arrancar, comprobar, parar y qué hacer "
                "si algo falla, con comandos que existen y puertos leídos de la configuración.",
}
"""(day, exercise) → what to learn next when that exercise lost points."""

GENERAL_NEXT_STEP = ("Todo lo calificado tiene la puntuación máxima: lleva lo de esta semana a "
                     "un proyecto propio (CI con pruebas de DAGs, alertas probadas con promtool, "
                     "un runbook y un post-mortem, un despliegue blue-green) y enlázalo aquí.")


class PortfolioError(ValueError):
    """The portfolio cannot be built (Spanish message)."""


@dataclass(frozen=True)
class Written:
    """One solution cell of the student, with its visible evidence.

    Attributes:
        grade_id: nbgrader id of the cell.
        exercise: exercise it belongs to.
        kind: ``code``, ``markdown`` (an open answer) or ``evidencia`` (outputs of a cell
            tagged ``portafolio``: the student's documents, its source is not theirs).
        source: what the student wrote (empty for ``evidencia``).
        outputs: text outputs of the cell (stream, result, error), ANSI removed, truncated.
        images: base64 PNG outputs (their charts).
    """

    grade_id: str
    exercise: str
    kind: str
    source: str
    outputs: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExerciseScore:
    """Automatic score of one exercise (summed over its criteria)."""

    exercise: str
    title: str
    points: float
    maximum: float

    @property
    def full(self) -> bool:
        """Whether no point was lost."""
        return self.points >= self.maximum


@dataclass(frozen=True)
class NextStep:
    """What to learn next, derived from one exercise that lost points (or the week)."""

    day: int | None
    exercise: str
    title: str
    text: str


@dataclass
class DayPortfolio:
    """One course day in the portfolio.

    Attributes:
        day: course day.
        notebook: the day's notebook name.
        role: the professional role it demonstrates.
        graded: whether the gradebook has rows of the student for this day.
        scores: per exercise, in gradebook order.
        written: the student's solution cells, in notebook order.
        note: Spanish remark (e.g. the executed notebook is missing).
        titles: exercise → title from the notebook's headings.
    """

    day: int
    notebook: str
    role: Role
    graded: bool
    scores: list[ExerciseScore] = field(default_factory=list)
    written: list[Written] = field(default_factory=list)
    note: str = ""
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def points(self) -> float:
        """Points of the day."""
        return sum(s.points for s in self.scores)

    @property
    def maximum(self) -> float:
        """Maximum of the day."""
        return sum(s.maximum for s in self.scores)


@dataclass
class Portfolio:
    """A student's week and where it was written.

    Attributes:
        student: student id.
        days: every course day, graded or not.
        next_steps: what to learn next.
        html: the page written (``None`` before :func:`write`).
        pdf: the PDF written (``None`` without Chromium).
        pdf_note: Spanish reason when there is no PDF.
    """

    student: str
    days: list[DayPortfolio]
    next_steps: list[NextStep]
    html: Path | None = None
    pdf: Path | None = None
    pdf_note: str = ""


def _resolve(path: Path) -> Path:
    """A relative folder is taken from the project root, as ``curso calificar`` does."""
    return path if path.is_absolute() else settings.root / path


def _clip(text: str) -> str:
    text = _ANSI.sub("", text).rstrip()
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "\n…"


def _outputs(cell: nbformat.NotebookNode) -> tuple[list[str], list[str]]:
    texts, images = [], []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            texts.append(_clip("".join(out.get("text", ""))))
        elif kind == "error":
            texts.append(_clip(f"{out.get('ename')}: {out.get('evalue')}"))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            if "image/png" in data:
                images.append("".join(data["image/png"]).replace("\n", ""))
            elif "text/markdown" in data:
                texts.append(_clip("".join(data["text/markdown"])))
            elif "text/plain" in data:
                texts.append(_clip("".join(data["text/plain"])))
    return [t for t in texts if t], images


def solution_cells(nb: nbformat.NotebookNode) -> list[Written]:
    """The student's solution cells of an executed notebook, without any hidden check.

    Only cells with nbgrader ``solution: true`` count, plus the outputs (not the source) of
    read-only cells tagged ``portafolio``; a cell that carries a hidden-test region is never
    returned, whatever its metadata says.
    """
    out = []
    for cell in nb.cells:
        gid = authoring.grade_id(cell)
        if (cell.cell_type == "code" and not gid and HIDDEN_MARK not in cell.source
                and EVIDENCE_TAG in cell.metadata.get("tags", [])):
            texts, images = _outputs(cell)
            if texts or images:
                out.append(Written(EVIDENCE_TAG, EVIDENCE, EVIDENCE, "", texts, images))
            continue
        if not gid or not authoring.is_solution(cell) or HIDDEN_MARK in cell.source:
            continue
        texts, images = _outputs(cell) if cell.cell_type == "code" else ([], [])
        out.append(Written(gid, authoring.exercise_of(gid), cell.cell_type, cell.source.strip(),
                           texts, images))
    return out


def _day(grades_dir: Path, student: str, day: int, rows) -> DayPortfolio:
    page = DayPortfolio(day, COURSE_NOTEBOOKS[day], ROLES[day], graded=len(rows) > 0)
    if not page.graded:
        return page
    path = feedback.student_dir(grades_dir, student, day) / "ejecutado.ipynb"
    if path.is_file():
        nb = nbformat.read(path, as_version=4)
        page.written = solution_cells(nb)
        page.titles = authoring.exercise_titles(nb)
    else:
        page.note = "sin cuaderno ejecutado (entrega ausente): no hay código que mostrar"
    sums = rows.groupby("ejercicio", sort=False)[["puntos", "maximo"]].sum()
    page.scores = [ExerciseScore(str(ex), page.titles.get(str(ex), str(ex)), float(r["puntos"]),
                                 float(r["maximo"])) for ex, r in sums.iterrows()]
    return page


def next_steps(days: list[DayPortfolio]) -> list[NextStep]:
    """Per exercise that lost points, what to learn next; a general step when none did."""
    steps = []
    for d in days:
        for s in d.scores:
            if s.full:
                continue
            text = SUGGESTIONS.get((d.day, s.exercise)) or (
                f"Repasa «{s.title}» del día {d.day} ({d.role.name}): estudia "
                f"{d.role.learn_next}.")
            steps.append(NextStep(d.day, s.exercise, s.title, text))
    if not steps:
        steps.append(NextStep(None, "semana", "La semana completa", GENERAL_NEXT_STEP))
    return steps


def build(student: str, grades_dir: Path = DEFAULT_GRADES) -> Portfolio:
    """Read the grading output and assemble ``student``'s portfolio (nothing is written).

    Raises:
        PortfolioError: no gradebook folder or CSV, or the student has no grades.
        submission.SubmissionError: the id is not a valid student id.
    """
    submission.check_student_id(student, "--alumno")
    grades_dir = _resolve(grades_dir)
    if not grades_dir.is_dir():
        raise PortfolioError(f"no existe la carpeta de calificaciones {grades_dir}: califica "
                             "primero con 'opsbook curso calificar' o indica --calificaciones")
    if not (grades_dir / gradebook.GRADES_FILE).is_file():
        raise PortfolioError(f"{grades_dir} no tiene {gradebook.GRADES_FILE}: no es una carpeta "
                             "de calificaciones de 'opsbook curso calificar'")
    book = gradebook.read(grades_dir)
    mine = book[book["alumno"] == student]
    if mine.empty:
        known = ", ".join(sorted(book["alumno"].unique())) or "ninguno"
        raise PortfolioError(f"el alumno {student!r} no tiene calificaciones en "
                             f"{grades_dir / gradebook.GRADES_FILE}; alumnos calificados: {known}")
    days = [_day(grades_dir, student, day, mine[mine["dia"] == day])
            for day in sorted(COURSE_NOTEBOOKS)]
    return Portfolio(student, days, next_steps(days))


def render(portfolio: Portfolio) -> str:
    """The portfolio as an HTML page."""
    got = sum(d.points for d in portfolio.days if d.graded)
    top = sum(d.maximum for d in portfolio.days if d.graded)
    return _ENV.get_template("portafolio.html.j2").render(
        p=portfolio, puntos=got, maximo=top,
        calificados=sum(d.graded for d in portfolio.days))


def write(portfolio: Portfolio, out: Path = DEFAULT_OUT, pdf: bool = True) -> Portfolio:
    """Write ``<out>/<alumno>/portafolio.html`` (and ``portafolio.pdf`` when Chromium runs).

    Args:
        portfolio: what :func:`build` returned (updated in place with the paths).
        out: the portfolio folder.
        pdf: also print the page to PDF (skipped with a note when Chromium is missing).
    """
    folder = _resolve(out) / portfolio.student
    folder.mkdir(parents=True, exist_ok=True)
    portfolio.html = folder / PAGE
    portfolio.html.write_text(render(portfolio), encoding="utf-8")
    if pdf:
        shot = screenshots.print_pdf(portfolio.html.resolve().as_uri(), folder / PDF)
        portfolio.pdf, portfolio.pdf_note = shot.path, shot.note
    else:
        portfolio.pdf_note = "PDF no solicitado"
    return portfolio
