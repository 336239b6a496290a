"""The broken-DAG drill of day 1: the suite and the live dag-processor both catch bad files.

Why this module exists: the course claims that a broken DAG is caught twice — by the CI suite
before it ships (naming the file) and, if it ships anyway, by the dag-processor, which reports
it through the REST API ``importErrors``. The samples live in ``opsbook/airflow/broken_dags`` with
a ``.py.txt`` suffix so no DagBag ever loads them by accident. The live drill copies them as
``.py`` into the stack's second bundle folder (``drill``, see
:func:`opsbook.airflow.env.drill_dags_dir`), waits for each import error by file name, removes
them and waits until the stack is clean again — with deadlines, in ``try/finally``, so no
broken file is ever left behind.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from opsbook.waiting import WaitTimeout, wait_until

SAMPLES_DIR = Path(__file__).resolve().parent / "broken_dags"
DRILL_SAMPLES = ("sintaxis_rota", "import_inexistente", "ciclo")
"""Samples that fail to import (the live drill uses these)."""
POLICY_SAMPLE = "politica_incumplida"
"""A sample that imports fine but breaks the team policy (the suite catches it, Airflow not)."""


def sample_names() -> list[str]:
    """Every stored sample (stem without ``.py.txt``)."""
    return sorted(p.name.removesuffix(".py.txt") for p in SAMPLES_DIR.glob("*.py.txt"))


def sample_source(name: str) -> str:
    """Source of one sample.

    Raises:
        ValueError: unknown sample (Spanish message with the known ones).
    """
    path = SAMPLES_DIR / f"{name}.py.txt"
    if not path.exists():
        raise ValueError(f"muestra {name!r} desconocida; disponibles: {sample_names()}")
    return path.read_text()


def stage_folder(dest: Path, samples: tuple[str, ...] | list[str],
                 with_project_dags: bool = True) -> Path:
    """Fill ``dest`` with the project's DAGs (optional) plus the given samples as ``.py``.

    Returns:
        ``dest``, ready for ``OPSBOOK_DAGTEST_FOLDER``.
    """
    from opsbook.settings import settings

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if with_project_dags:
        for path in settings.dags_dir.glob("*.py"):
            shutil.copy2(path, dest / path.name)
    for name in samples:
        (dest / f"{name}.py").write_text(sample_source(name))
    return dest


@dataclass
class DrillResult:
    """What the live drill observed (seconds measured from the copy / the removal)."""

    files: list[str]
    baseline_errors: int
    detected: dict[str, float | None] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    peak_errors: int = 0
    cleared_after_s: float | None = None
    final_errors: int | None = None
    leftovers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain dict for evidence."""
        return asdict(self)


def _drill_errors(import_errors) -> dict[str, dict]:
    return {Path(e["filename"]).name: e for e in import_errors(bundle_name="drill")}


def _bounded(predicate, timeout_s: float, poll_s: float, what: str) -> bool:
    """Wait for ``predicate``; False at the deadline (the result records what was seen)."""
    try:
        return bool(wait_until(predicate, max(timeout_s, 0.0), poll_s, what))
    except WaitTimeout:
        return False


def run_live_drill(samples: tuple[str, ...] = DRILL_SAMPLES, detect_timeout_s: float = 180,
                   clear_timeout_s: float = 180, poll_s: float = 1.0) -> DrillResult:
    """Copy broken samples into the live drill bundle, see them reported, remove, see clean.

    Args:
        samples: sample names (default: the three that fail to import).
        detect_timeout_s: deadline for the REST API to report every file.
        clear_timeout_s: deadline for the import errors to disappear after removal.
        poll_s: polling period of the REST API.

    Returns:
        The observations; the caller asserts on them. Files are always removed.
    """
    from opsbook.airflow.client import import_errors
    from opsbook.airflow.env import drill_dags_dir

    folder = drill_dags_dir()
    folder.mkdir(parents=True, exist_ok=True)
    files = [f"{name}.py" for name in samples]
    result = DrillResult(files=files, baseline_errors=len(_drill_errors(import_errors)))
    written: list[Path] = []
    try:
        started = time.monotonic()
        for name in samples:
            path = folder / f"{name}.py"
            path.write_text(sample_source(name))
            written.append(path)
        result.detected = dict.fromkeys(files)

        def all_detected() -> bool:
            current = _drill_errors(import_errors)
            result.peak_errors = max(result.peak_errors, len(current))
            for fname in files:
                if result.detected[fname] is None and fname in current:
                    result.detected[fname] = round(time.monotonic() - started, 1)
                    trace = current[fname].get("stack_trace") or ""
                    result.messages[fname] = trace.strip().splitlines()[-1][:200] if trace else ""
            return None not in result.detected.values()

        _bounded(all_detected, detect_timeout_s - (time.monotonic() - started), poll_s,
                 "la API informe de cada fichero roto")
    finally:
        for path in written:
            path.unlink(missing_ok=True)
        removed_at = time.monotonic()
        result.leftovers = sorted(p.name for p in folder.glob("*.py"))
    if _bounded(lambda: not _drill_errors(import_errors), clear_timeout_s, poll_s,
                "desaparezcan los errores de importación"):
        result.cleared_after_s = round(time.monotonic() - removed_at, 1)
    result.final_errors = len(_drill_errors(import_errors))
    return result
