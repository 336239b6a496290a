"""Day 5 assignment helpers: each student's folder and the checks behind the graded exercises.

Why this module exists: the day-5 exercises produce documents, not numbers — docstrings, an
SCQA slide and an operator's README section — and a grader must verify them for real instead
of trusting what the notebook printed. This module holds those verifications, so the notebook
keeps only calls and asserts: the project's own docstring rules (ruff's pydocstyle with the
Google convention from ``pyproject.toml``, plus :mod:`opsbook.course.doccheck`) run on the
student's functions; the slide is re-opened with python-pptx and its figures compared with a
fresh measurement of the live stack; the README section's commands are parsed by the real
``opsbook`` command line and every URL it cites must be one of the stack's ports and answer.
Everything a student writes goes under ``evidencia/dia_5/alumnos/<alumno>/``, so grading one
student never reads another student's files.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from opsbook import loopback
from opsbook.course import day1, doccheck, week_facts
from opsbook.settings import HOST, Settings, settings

FIGURES = ("dags", "objetivos_up", "ejecuciones_ok", "dias_con_datos")
"""Keys of the SCQA slide's figures, in chart order."""
SCQA_PARTS = ("Situación", "Complicación", "Pregunta", "Respuesta")
README_SECTIONS = ("Arrancar", "Comprobar", "Parar", "Si algo falla")
README_COMMANDS = ("opsbook stack up", "opsbook stack status", "opsbook stack down")
README_SERVICES = ("airflow", "prometheus", "alertmanager")
_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost):(\d+)[^\s)`'\"<>]*")
_SECTION = re.compile(r"^#{2,3}\s+(.+?)\s*$", re.MULTILINE)
_ARGS_ENTRY = re.compile(r"^\s{4}(\*{0,2}\w+)\s*(?:\([^)]*\))?:", re.MULTILINE)


def student_dir(alumno: str) -> Path:
    """``evidencia/dia_5/alumnos/<alumno>/`` (created): where a student's documents go."""
    return day1.student_dir(5, alumno)


def fresh_file(alumno: str, name: str) -> Path:
    """Path of a document the student's code is about to write, with any older copy removed.

    A slide or README left by an earlier run (a resubmission, a re-run in JupyterLab) must not
    pass this run's checks when the student's function now fails before saving.

    Args:
        alumno: student id.
        name: file name inside :func:`student_dir` (no folders).

    Raises:
        ValueError: when ``name`` is not a plain file name.
    """
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"nombre de fichero inválido: {name!r}")
    path = student_dir(alumno) / name
    path.unlink(missing_ok=True)
    return path


# ---- exercise 1: docstrings -----------------------------------------------------------------
def _ruff_bin() -> str:
    from ruff.__main__ import find_ruff_bin

    return find_ruff_bin()


def _sections(doc: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = ""
    for line in doc.splitlines():
        head = re.fullmatch(r"(\w+):\s*", line)
        if head:
            current = head.group(1)
            out[current] = ""
        elif current:
            out[current] += line + "\n"
    return out


def _raised(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name):
                names.add(exc.id)
    return names


def semantic_problems(func: Callable) -> list[str]:
    """What a Google docstring of ``func`` misses compared with its code.

    Every parameter needs an ``Args`` entry (and no entry may name a missing parameter), a
    function that returns a value needs ``Returns``, and every exception the body raises
    must appear under ``Raises``.
    """
    name = func.__name__
    doc = inspect.getdoc(func) or ""
    if not doc.strip():
        return [f"{name}: sin docstring"]
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    problems = []
    if len(doc.splitlines()[0].strip()) < 10:
        problems.append(f"{name}: la primera línea debe resumir qué hace")
    sections = _sections(doc)
    params = [p for p in inspect.signature(func).parameters if p not in ("self", "cls")]
    listed = {m.lstrip("*") for m in _ARGS_ENTRY.findall(sections.get("Args", ""))}
    for p in params:
        if p not in listed:
            problems.append(f"{name}: el parámetro {p!r} no está en Args")
    for extra in sorted(listed - set(params)):
        problems.append(f"{name}: Args nombra {extra!r}, que no es un parámetro")
    returns = any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(tree))
    if returns and not sections.get("Returns", "").strip():
        problems.append(f"{name}: devuelve un valor y no tiene sección Returns")
    for exc in sorted(_raised(tree)):
        if exc not in sections.get("Raises", ""):
            problems.append(f"{name}: lanza {exc} y no lo documenta en Raises")
    return problems


def docstring_problems(funcs: list[Callable], root: Path | None = None,
                       semantic: bool = True) -> list[str]:
    """Run the project's docstring rules on the source of ``funcs``.

    The functions are written to a throw-away package and checked three ways: ruff's ``D``
    rules with the project's configuration (Google convention), the coverage count of
    :func:`opsbook.course.doccheck.docstring_coverage` (must be 100 %), and
    :func:`semantic_problems`.

    Args:
        funcs: functions defined in the notebook (their source is read with ``inspect``).
        root: project whose ``pyproject.toml`` configures ruff (default: this checkout).
        semantic: also compare each docstring with its code (:func:`semantic_problems`).

    Returns:
        One Spanish line per problem (empty = accepted).
    """
    config = Path(root or settings.root) / "pyproject.toml"
    sources = [textwrap.dedent(inspect.getsource(f)) for f in funcs]
    with tempfile.TemporaryDirectory(prefix="dia5_docstrings_") as tmp:
        pkg = Path(tmp) / "documentadas"
        pkg.mkdir()
        (pkg / "__init__.py").write_text('"""Funciones documentadas por el alumno."""\n')
        module = pkg / "funciones.py"
        module.write_text('"""Funciones del ejercicio 1 del día 5."""\n\n\n'
                          + "\n\n".join(sources), encoding="utf-8")
        ruff = subprocess.run([_ruff_bin(), "check", "--no-cache", "--config", str(config),
                               "--select", "D", "--output-format", "concise", str(module)],
                              capture_output=True, text=True, timeout=60)
        problems = [ln.split(str(pkg) + "/", 1)[-1] for ln in ruff.stdout.splitlines()
                    if ": D" in ln]
        cov = doccheck.docstring_coverage(pkg)
        problems += [f"doccheck: sin docstring {m}" for m in cov.missing]
    for f in funcs if semantic else []:
        problems += semantic_problems(f)
    return problems


# ---- exercise 2: the SCQA slide -------------------------------------------------------------
def live_figures() -> dict[str, int]:
    """Measure the slide's figures now, independently of the student's code.

    ``dags``: DAGs the Airflow API lists; ``objetivos_up``: Prometheus scrape targets up;
    ``ejecuciones_ok``: successful ``pipeline_ventas`` runs among the latest 100;
    ``dias_con_datos``: days 1–4 with a ``resumen.json``.
    """
    from opsbook.airflow import client as airflow_api
    from opsbook.observability import prom

    runs = airflow_api.dag_runs(day1.DAG_ID, limit=100) if day1.DAG_ID in (
        ids := airflow_api.dag_ids()) else []
    return {"dags": len(ids),
            "objetivos_up": int(prom.value("sum(up)", default=0.0)),
            "ejecuciones_ok": sum(r.get("state") == "success" for r in runs),
            "dias_con_datos": len(week_facts.days_present(week_facts.load_summaries()))}


@dataclass(frozen=True)
class SlideContent:
    """What one slide of a ``.pptx`` shows, read back with python-pptx.

    Attributes:
        slides: number of slides in the file.
        widescreen: 16:9 page.
        title: the slide's title placeholder text ("" without one).
        text: every text frame of the slide, joined.
        categories: categories of the first native chart (empty without a chart).
        values: values of its first series.
        inside: every shape lies within the page.
    """

    slides: int
    widescreen: bool
    title: str
    text: str
    categories: list[str]
    values: list[float]
    inside: bool


def read_slide(pptx: Path, index: int = 0) -> SlideContent:
    """Open ``pptx`` and describe slide ``index`` (0-based)."""
    from pptx import Presentation

    prs = Presentation(pptx)
    slide = prs.slides[index]
    title = slide.shapes.title.text_frame.text if slide.shapes.title is not None else ""
    texts, categories, values = [], [], []
    for shape in slide.shapes:
        if shape.has_text_frame:
            texts.append(shape.text_frame.text)
        if shape.has_chart and not categories:
            plot = shape.chart.plots[0]
            categories = [str(c) for c in plot.categories]
            values = [float(v) for v in plot.series[0].values]
    inside = all(s.left >= 0 and s.top >= 0 and s.left + s.width <= prs.slide_width
                 and s.top + s.height <= prs.slide_height for s in slide.shapes)
    return SlideContent(len(prs.slides), abs(prs.slide_width / prs.slide_height - 16 / 9) < 0.01,
                        title, "\n".join(texts), categories, values, inside)


def slide_problems(pptx: Path, figures: Mapping[str, float]) -> list[str]:
    """Check an SCQA slide against the figures it must show.

    The file must hold one 16:9 slide with a title, the four SCQA parts named in its text, a
    native chart whose values are ``figures`` (in :data:`FIGURES` order) and every shape
    inside the page; the text must quote at least two of the figures.

    Returns:
        One Spanish line per problem (empty = accepted).
    """
    if not Path(pptx).is_file():
        return [f"no existe {pptx}"]
    s = read_slide(pptx)
    problems = []
    if s.slides != 1 or not s.widescreen:
        problems.append(f"se espera 1 diapositiva 16:9 (hay {s.slides}, 16:9={s.widescreen})")
    if len(s.title.strip()) < 10:
        problems.append("el título debe decir la conclusión (al menos 10 caracteres)")
    problems += [f"falta la parte «{p}»" for p in SCQA_PARTS if p.lower() not in s.text.lower()]
    wanted = [float(figures[k]) for k in FIGURES]
    if s.values != wanted:
        problems.append(f"el gráfico muestra {s.values}, las cifras son {wanted}")
    quoted = sum(bool(re.search(rf"(?<![\d.]){int(v)}(?![\d])", s.text)) for v in wanted)
    if quoted < 2:
        problems.append("el texto debe citar al menos dos de las cifras")
    if not s.inside:
        problems.append("hay formas fuera de la diapositiva")
    return problems


# ---- exercise 3: the operator's README section ----------------------------------------------
def cited_ports(text: str) -> list[int]:
    """Ports of the local URLs a text cites, in order, without repeats."""
    return list(dict.fromkeys(int(p) for p in _URL.findall(text)))


def cited_commands(text: str) -> list[str]:
    """``opsbook ...`` commands written in the text (code blocks or inline code)."""
    found = re.findall(r"(?:^|`|\$ )\s*(opsbook [^`\n#]+)", text, re.MULTILINE)
    return list(dict.fromkeys(c.strip() for c in found))


_PARSE_SCRIPT = """
import json, shlex, sys
from opsbook.cli.main import build_parser
ok = []
for command in json.loads(sys.argv[1]):
    try:
        build_parser().parse_args(shlex.split(command)[1:])
        ok.append(True)
    except SystemExit:
        ok.append(False)
print(json.dumps(ok))
"""


def unknown_commands(commands: list[str]) -> list[str]:
    """The commands the real ``opsbook`` parser rejects.

    The parser is run in a child interpreter: the command line is a layer above this module,
    and parsing must not run any command.
    """
    if not commands:
        return []
    done = subprocess.run([sys.executable, "-c", _PARSE_SCRIPT, json.dumps(commands)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"no se pudo ejecutar el analizador de opsbook: {done.stderr[-300:]}")
    verdicts = json.loads(done.stdout.strip().splitlines()[-1])
    return [c for c, ok in zip(commands, verdicts, strict=True) if not ok]


def answers(port: int, timeout_s: float = 3.0) -> bool:
    """Whether something answers HTTP on ``HOST:port`` (any status counts)."""
    try:
        loopback.get(f"http://{HOST}:{port}/", timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return True


def readme_problems(text: str, conf: Settings, live: bool = True) -> list[str]:
    """Check an operator's README section against the real command line and ports.

    Args:
        text: the Markdown section.
        conf: the settings it was written for (its ports are the only valid ones).
        live: also require every cited port to answer on this machine.

    Returns:
        One Spanish line per problem (empty = accepted).
    """
    problems = []
    headings = [h.lower() for h in _SECTION.findall(text)]
    for section in README_SECTIONS:
        if not any(h.startswith(section.lower()) for h in headings):
            problems.append(f"falta la sección «## {section}»")
    commands = cited_commands(text)
    for needed in README_COMMANDS:
        if not any(c.startswith(needed) for c in commands):
            problems.append(f"falta el comando `{needed}`")
    problems += [f"`{c}` no es un comando de opsbook" for c in unknown_commands(commands)]
    ports = cited_ports(text)
    valid = {getattr(conf.ports, name): name for name in conf.ports.__dataclass_fields__}
    for name in README_SERVICES:
        if getattr(conf.ports, name) not in ports:
            problems.append(f"no cita la URL de {name} (puerto {getattr(conf.ports, name)})")
    for port in ports:
        if port not in valid:
            problems.append(f"el puerto {port} no es de esta pila")
        elif live and not answers(port):
            problems.append(f"el puerto {port} ({valid[port]}) no responde")
    return problems


def shifted(conf: Settings, by: int) -> Settings:
    """``conf`` with every project port moved by ``by`` (a stack on another offset)."""
    from dataclasses import replace

    moved = {name: getattr(conf.ports, name) + by for name in conf.ports.__dataclass_fields__
             if name not in ("postgres", "redis")}
    return replace(conf, ports=replace(conf.ports, **moved))
