"""``evidencia/index.html``: the instructor's one page to grade the week.

Why this module exists: after ``make run`` the instructor needs, per day, whether the notebook
passed (or at which cell it failed), how long it took, a link to its HTML, and every evidence
file the day wrote, without browsing folders. The page is rendered from the runner's status
file (:mod:`opsbook.course.runner`) and each day's evidence manifest
(:func:`opsbook.evidence.manifest`) with a Jinja2 template; every link is relative to the
evidence folder so the whole folder can be zipped and opened anywhere. When Chromium exists,
a screenshot of the page is kept as evidence too.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from opsbook import evidence
from opsbook.course.days import COURSE_NOTEBOOKS
from opsbook.course.runner import DayRun, day_of, discover, load_status
from opsbook.settings import settings

INDEX_FILE = "index.html"
SCREENSHOT_FILE = "index.png"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".svg", ".gif"}
COURSE_DAYS = range(1, 6)


def _files(day: int) -> list[dict[str, Any]]:
    folder = settings.evidence_dir / f"dia_{day}"
    out = []
    for entry in evidence.manifest(day):
        path = folder / entry["file"]
        missing = not path.exists()  # listed in the manifest but gone: shown as missing
        out.append({**entry, "href": f"dia_{day}/{entry['file']}", "missing": missing,
                    "image": not missing and path.suffix.lower() in IMAGE_SUFFIXES,
                    "kb": 0 if missing else max(1, round(path.stat().st_size / 1024))})
    return out


def rows() -> list[dict[str, Any]]:
    """One row per course day: the runner's status plus that day's evidence files.

    Returns:
        Dicts with the :class:`opsbook.course.runner.DayRun` fields and ``files`` (manifest
        entries whose file exists, with ``href`` relative to the evidence folder).
    """
    status = {r.day: r for r in load_status().values()}
    names = {**COURSE_NOTEBOOKS, **{day_of(p.stem): p.stem for p in discover()}}
    out = []
    for day in COURSE_DAYS:
        run = status.get(day) or DayRun(name=names.get(day, f"dia_{day}"), day=day)
        row = dict(vars(run))
        if row["html"] and not (settings.evidence_dir / row["html"]).exists():
            row["html"] = None
        row["files"] = _files(day)
        out.append(row)
    return out


def build_index() -> Path:
    """Render ``evidencia/index.html`` and return its path."""
    env = Environment(loader=PackageLoader("opsbook.course", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    table = rows()
    html = env.get_template("instructor_index.html.j2").render(
        rows=table,
        passed=sum(1 for r in table if r["status"] == "passed"),
        missing=sum(1 for r in table for f in r["files"] if f["missing"]),
        gradebook=(settings.evidence_dir / "calificaciones" / INDEX_FILE).exists(),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    settings.evidence_dir.mkdir(parents=True, exist_ok=True)
    path = settings.evidence_dir / INDEX_FILE
    path.write_text(html, encoding="utf-8")
    return path


def chromium() -> str | None:
    """Path of a Chromium/Chrome binary, or ``None`` when none is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(page: Path, target: Path | None = None, timeout_s: float = 120) -> Path | None:
    """Take a headless Chromium screenshot of a local HTML page.

    Args:
        page: the HTML file.
        target: PNG path (default ``evidencia/index.png``).
        timeout_s: deadline for Chromium.

    Returns:
        The PNG path, or ``None`` when Chromium is not installed or produced nothing
        (the caller prints a hint; the index itself does not depend on it).
    """
    binary = chromium()
    if binary is None:
        return None
    target = Path(target or settings.evidence_dir / SCREENSHOT_FILE)
    with tempfile.TemporaryDirectory(prefix="opsbook-chromium-") as profile:
        subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--hide-scrollbars",
             "--window-size=1400,1800", "--virtual-time-budget=5000",
             f"--screenshot={target}", Path(page).resolve().as_uri()],
            capture_output=True, timeout=timeout_s, check=False,
        )
    return target if target.exists() and target.stat().st_size > 0 else None
