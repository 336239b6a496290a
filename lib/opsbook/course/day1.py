"""Day 1 assignment helpers: each student's namespace on the shared stack.

Why this module exists: every student triggers ``pipeline_ventas`` on the same stack, and the
grader re-runs each submission one after another. The date a student's run processes and its
run id are derived from the student id (the papermill parameter ``alumno``), so one student's
warehouse rows or runs can never satisfy another student's checks; the run id also carries the
time so regrading never collides with an earlier run.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

DAG_ID = "pipeline_ventas"
FIRST_DATE = date(2026, 2, 1)
SPAN_DAYS = 240
LOADED_SERIES = f'sum(airflow_pipeline_load_records_loaded{{dag_id="{DAG_ID}"}})'
"""PromQL of the rows loaded by pipeline_ventas so far (a counter)."""


def check_student(alumno: str) -> str:
    """Validate the ``alumno`` parameter.

    Raises:
        ValueError: not a student id (Spanish message).
    """
    import re

    if not isinstance(alumno, str) or not re.fullmatch(r"[a-z0-9_-]{1,40}", alumno):
        raise ValueError(f"alumno={alumno!r}: usa tu identificador (minúsculas, dígitos, '-' "
                         "o '_', hasta 40 caracteres)")
    return alumno


def student_dir(day: int, alumno: str) -> Path:
    """``evidencia/dia_<day>/alumnos/<alumno>/`` (created): where a student's files of a day go.

    One folder per student, so grading one student never reads or overwrites another's files.
    """
    from opsbook import evidence

    folder = evidence.day_dir(day) / "alumnos" / check_student(alumno)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def student_date(alumno: str) -> str:
    """The logical date (``YYYY-MM-DD``) that belongs to ``alumno``."""
    digest = int(hashlib.sha256(check_student(alumno).encode()).hexdigest(), 16)
    return (FIRST_DATE + timedelta(days=digest % SPAN_DAYS)).isoformat()


def student_seed(alumno: str) -> int:
    """A generator seed that belongs to ``alumno``."""
    return int(hashlib.sha256(f"semilla:{check_student(alumno)}".encode()).hexdigest(), 16) % 10**6


def student_run_id(alumno: str) -> str:
    """A fresh run id in ``alumno``'s namespace (``curso__<alumno>__<fecha>__<epoch>``)."""
    return f"curso__{check_student(alumno)}__{student_date(alumno)}__{int(time.time())}"


def logical_datetime(day: str) -> datetime:
    """A logical date on ``day`` at the current UTC time of day (to trigger with).

    Airflow keeps one run per DAG and logical date, so a second run on the same day (a
    regrade, a retry) needs its own timestamp; the run still processes ``day``.
    """
    now = datetime.now(UTC)
    return datetime.combine(date.fromisoformat(day), now.timetz())
