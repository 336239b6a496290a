"""Run the day notebooks with papermill and export them to HTML for the instructor.

Why this module exists: ``make run`` must execute the five notebooks of the week in order,
exactly as a student would (kernel ``opsbook``, working directory = the notebook's folder),
keep going when one day fails so the others still produce evidence, and leave behind what the
instructor grades: the executed copies, one HTML page per day (nbconvert ``lab`` template,
papermill's injected-parameters cell hidden) and a per-day status (passed / failed at which
cell, run time) that :mod:`opsbook.course.instructor_index` turns into ``evidencia/index.html``.

Executed copies and HTML live in ``evidencia/html/``; the status of every run is merged into
``evidencia/html/estado.json`` so ``--only dia_5`` keeps the other days' rows.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook.course import preflight
from opsbook.course.kernels import KERNEL, PrivateIpcAsyncKernelManager
from opsbook.settings import settings

STATUS_FILE = "estado.json"
HIDDEN_TAGS = ("injected-parameters",)
_DAY_RE = re.compile(r"^dia_(\d+)")


@dataclass
class DayRun:
    """Result of running one day notebook.

    Attributes:
        name: notebook stem (``dia_1_testing``).
        day: course day parsed from the name.
        status: ``passed``, ``failed`` or ``not_run``.
        seconds: wall time of the papermill run.
        failed_cell: execution count (``In [n]``) of the failing cell, when known.
        cell_index: 0-based index of the failing cell in the notebook.
        error: ``ExceptionName: message`` of the failure (first 500 characters).
        executed: executed copy, relative to the evidence folder.
        html: exported page, relative to the evidence folder (``None`` until exported).
        finished_at: ISO timestamp (UTC).
    """

    name: str
    day: int
    status: str = "not_run"
    seconds: float | None = None
    failed_cell: int | None = None
    cell_index: int | None = None
    error: str | None = None
    executed: str | None = None
    html: str | None = None
    finished_at: str | None = None


def html_dir() -> Path:
    """``evidencia/html/`` (created): executed notebooks, HTML pages and the status file."""
    path = settings.evidence_dir / "html"
    path.mkdir(parents=True, exist_ok=True)
    return path


def day_of(name: str) -> int:
    """Course day of a notebook name such as ``dia_3_incidentes`` (0 when it has none)."""
    match = _DAY_RE.match(name)
    return int(match.group(1)) if match else 0


def discover(only: list[str] | None = None, notebooks_dir: Path | None = None) -> list[Path]:
    """Find ``notebooks/dia_*/dia_*.ipynb`` in day order.

    Args:
        only: keep notebooks whose name starts with one of these prefixes (``dia_5``).
        notebooks_dir: folder to search (default: the project's ``notebooks/``).

    Returns:
        The notebooks to run.

    Raises:
        ValueError: when ``only`` matches nothing (the message lists what exists).
    """
    root = Path(notebooks_dir or settings.notebooks_dir)
    found = sorted(
        (p for p in root.glob("dia_*/dia_*.ipynb") if p.stem == p.parent.name),
        key=lambda p: (day_of(p.stem), p.stem),
    )
    if only:
        selected = [p for p in found if any(p.stem.startswith(o) for o in only)]
        if not selected:
            names = ", ".join(p.stem for p in found) or "ninguno"
            raise ValueError(f"--only {' '.join(only)} no coincide con ningún cuaderno "
                             f"(existen: {names})")
        return selected
    return found


def load_status() -> dict[str, DayRun]:
    """Read ``evidencia/html/estado.json`` (empty when no notebook has run yet)."""
    path = settings.evidence_dir / "html" / STATUS_FILE
    if not path.exists():
        return {}
    return {row["name"]: DayRun(**row) for row in json.loads(path.read_text())}


def save_status(runs: dict[str, DayRun]) -> Path:
    """Write the status file, rows in day order."""
    path = html_dir() / STATUS_FILE
    rows = sorted(runs.values(), key=lambda r: (r.day, r.name))
    path.write_text(json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False))
    return path


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failing_line(traceback: list[str]) -> str:
    """The ``---->`` source line of an IPython traceback (a bare ``assert`` has no message)."""
    for line in reversed(_ANSI.sub("", "\n".join(traceback)).splitlines()):
        if line.lstrip().startswith("---->"):
            number, _, code = line.split("---->", 1)[1].strip().partition(" ")
            return f"línea {number}: {code.strip()}" if number.isdigit() else f"{number} {code}"
    return ""


def run_one(notebook: Path, parameters: dict[str, Any] | None = None,
            timeout_s: float | None = None, progress: bool = True) -> DayRun:
    """Execute one notebook with papermill in its own folder with the ``opsbook`` kernel.

    Args:
        notebook: the source ``.ipynb``.
        parameters: papermill parameters (they become the hidden injected cell).
        timeout_s: per-cell execution timeout (``None`` = no limit).
        progress: show papermill's progress bar.

    Returns:
        The :class:`DayRun`; a failing notebook returns ``status="failed"`` (never raises
        for a cell error) and its executed copy still shows the failing cell.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    notebook = Path(notebook).resolve()
    out = html_dir() / notebook.name
    run = DayRun(name=notebook.stem, day=day_of(notebook.stem),
                 executed=str(out.relative_to(settings.evidence_dir)))
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(notebook), str(out), parameters=parameters or {}, kernel_name=KERNEL,
            cwd=str(notebook.parent), progress_bar=progress, execution_timeout=timeout_s,
            kernel_manager_class=PrivateIpcAsyncKernelManager,
        )
        run.status = "passed"
    except PapermillExecutionError as exc:
        run.status, run.failed_cell, run.cell_index = "failed", exc.exec_count, exc.cell_index
        run.error = f"{exc.ename}: {exc.evalue or _failing_line(exc.traceback)}"[:500]
    except Exception as exc:  # kernel missing, timeout, unreadable notebook...
        run.status = "failed"
        hint = " (¿kernel 'opsbook' registrado? ejecuta make setup)" if "kernel" in str(
            exc).lower() else ""
        run.error = f"{type(exc).__name__}: {exc}{hint}"[:500]
    run.seconds = round(time.perf_counter() - start, 1)
    run.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    if not out.exists():
        run.executed = None
    return run


def run_all(only: list[str] | None = None, notebooks_dir: Path | None = None,
            parameters: dict[str, Any] | None = None, timeout_s: float | None = None,
            progress: bool = True, preflight_first: bool = True) -> list[DayRun]:
    """Run the selected notebooks in order, continuing after a failure.

    Before the first notebook starts, the preflight of every selected day runs once (the
    same check as each notebook's first cell): a missing stack stops everything in seconds.

    Args:
        only: name prefixes to run (``["dia_5"]``); default every day.
        notebooks_dir: where the day folders are (default: the project's).
        parameters: papermill parameters passed to every notebook.
        timeout_s: per-cell timeout.
        progress: show papermill's progress bar.
        preflight_first: run :func:`opsbook.course.preflight.require` for the selected days.

    Returns:
        One :class:`DayRun` per notebook run; the status file is updated after each one.

    Raises:
        PreflightError: something a selected day needs is missing (nothing was run).
    """
    notebooks = discover(only, notebooks_dir)
    if preflight_first:
        days = sorted({day_of(nb.stem) for nb in notebooks} & set(preflight.DAY_NEEDS))
        if days:
            checked = preflight.require(days)
            print(f"✔ {checked.message()}", flush=True)
            for warn in checked.warnings:
                print(f"⚠ {warn.detail}", flush=True)
    status = load_status()
    runs = []
    for nb in notebooks:
        print(f"▶ {nb.stem}: ejecutando con papermill (kernel {KERNEL}, cwd {nb.parent.name})",
              flush=True)
        run = run_one(nb, parameters, timeout_s, progress)
        verdict = "correcto" if run.status == "passed" else (
            f"FALLÓ en la celda In [{run.failed_cell}]: {run.error}")
        print(f"  {nb.stem}: {verdict} ({run.seconds} s)", flush=True)
        runs.append(run)
        status[run.name] = run
        save_status(status)
    return runs


def export_html(executed: Path, target: Path | None = None) -> Path:
    """Export one executed notebook to HTML (lab template, injected parameters hidden).

    Args:
        executed: executed ``.ipynb``.
        target: output path (default: same name with ``.html``).

    Returns:
        The HTML path.
    """
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(HIDDEN_TAGS)
    exporter = HTMLExporter(config=config, template_name="lab")
    body, _ = exporter.from_filename(str(executed))
    target = Path(target or Path(executed).with_suffix(".html"))
    target.write_text(body, encoding="utf-8")
    return target


def export_all() -> list[DayRun]:
    """Export every executed notebook of ``evidencia/html/`` and update the status file.

    Notebooks executed outside :func:`run_all` (no status row yet) get a ``not_run`` row
    with their HTML link, so the index still shows them.

    Returns:
        Every status row, in day order.
    """
    status = load_status()
    for executed in sorted(html_dir().glob("dia_*.ipynb")):
        page = export_html(executed)
        run = status.setdefault(executed.stem, DayRun(name=executed.stem,
                                                      day=day_of(executed.stem)))
        run.executed = str(executed.relative_to(settings.evidence_dir))
        run.html = str(page.relative_to(settings.evidence_dir))
        print(f"  HTML: {run.html}", flush=True)
    save_status(status)
    return sorted(status.values(), key=lambda r: (r.day, r.name))
