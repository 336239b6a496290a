"""Evidence written by the notebooks into ``evidencia/dia_N/``, recorded in a manifest.

Why this module exists: every notebook saves charts, tables, JSON results and reports the
instructor grades. Going through one helper keeps file names, folders and the per-day
``manifest.json`` (what was written, when, and why) consistent, and gives day 5 and the
instructor index one place to read them from (``resumen.json`` per day). Every file is
swapped in whole (:func:`opsbook.records.write_atomic`): day 5, the index and the portfolio may
read a day while another process rewrites it (a student's kernel, a grading, ``make run``), and a
run killed halfway leaves the previous file, not half of the new one.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook import records
from opsbook.settings import settings

SUMMARY_FILE = "resumen.json"
MANIFEST_FILE = "manifest.json"


def day_dir(day: int) -> Path:
    """Return (and create) ``evidencia/dia_<day>/``.

    Args:
        day: course day, 1..5.

    Raises:
        ValueError: when ``day`` is not a course day.
    """
    if day not in range(1, 6):
        raise ValueError(f"día {day!r} inválido: usa un número de 1 a 5")
    path = settings.evidence_dir / f"dia_{day}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record(day: int, path: Path, description: str) -> Path:
    manifest_path = day_dir(day) / MANIFEST_FILE
    entries = json.loads(manifest_path.read_text()) if manifest_path.exists() else []
    entries = [e for e in entries if e["file"] != path.name]
    entries.append(
        {
            "file": path.name,
            "description": description,
            "bytes": path.stat().st_size,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    records.write_atomic(manifest_path, json.dumps(entries, indent=2, ensure_ascii=False))
    return path


def save_figure(day: int, name: str, fig: Any, description: str = "", dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG evidence.

    Args:
        day: course day.
        name: file name (``.png`` added when missing).
        fig: a ``matplotlib.figure.Figure``.
        description: Spanish one-liner for the manifest and the index gallery.
        dpi: resolution.

    Returns:
        The written path.
    """
    path = day_dir(day) / (name if name.endswith(".png") else f"{name}.png")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    records.write_atomic(path, buffer.getvalue())
    return _record(day, path, description)


def save_frame(day: int, name: str, frame: Any, description: str = "") -> Path:
    """Save a pandas DataFrame as CSV evidence (``.csv`` added when missing)."""
    path = day_dir(day) / (name if name.endswith(".csv") else f"{name}.csv")
    records.write_atomic(path, frame.to_csv(index=False))
    return _record(day, path, description)


def save_json(day: int, name: str, data: Any, description: str = "") -> Path:
    """Save data as JSON (``.json`` added when missing) through :func:`opsbook.records.dumps`.

    Dataclasses, datetimes and paths are converted there; other non-JSON values become str.
    """
    path = day_dir(day) / (name if name.endswith(".json") else f"{name}.json")
    records.write_atomic(path, records.dumps(data))
    return _record(day, path, description)


def save_text(day: int, name: str, text: str, description: str = "") -> Path:
    """Save a text/Markdown report under its given name."""
    path = day_dir(day) / name
    records.write_atomic(path, text)
    return _record(day, path, description)


def save_file(day: int, source: Path, description: str = "", name: str | None = None) -> Path:
    """Copy an existing file (JUnit XML, pptx, screenshot...) into the day's evidence."""
    path = day_dir(day) / (name or Path(source).name)
    if Path(source).resolve() != path.resolve():
        records.write_atomic(path, Path(source).read_bytes())
    return _record(day, path, description)


def write_summary(day: int, summary: dict[str, Any]) -> Path:
    """Write the day's machine-readable ``resumen.json`` (day 5 and the index read it).

    Args:
        day: course day.
        summary: measured figures; keys in snake_case English, values JSON-serialisable.
    """
    payload = {"day": day, "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
               **summary}
    return save_json(day, SUMMARY_FILE, payload, "Resumen medible del día")


def read_summary(day: int) -> dict[str, Any]:
    """Read ``evidencia/dia_<day>/resumen.json``.

    Raises:
        FileNotFoundError: naming the notebook to run first.
    """
    path = settings.evidence_dir / f"dia_{day}" / SUMMARY_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{path} no existe: ejecuta antes el cuaderno del día {day} (make run)"
        )
    return json.loads(path.read_text())


def manifest(day: int) -> list[dict[str, Any]]:
    """Return the manifest entries of one day (empty when nothing was written)."""
    path = settings.evidence_dir / f"dia_{day}" / MANIFEST_FILE
    return json.loads(path.read_text()) if path.exists() else []
