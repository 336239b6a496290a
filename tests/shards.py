"""``make test``'s live part on two stacks at once: which tests each runs and where they wait.

Why this exists: the live part runs every day twice (nbval's reference run, then the grading
of the untouched release as the next student) on one stack, one test at a time, and most of
that time is spent waiting on the stack (alert windows, SLA deadlines, retries, deploys):
measured on 2 cores (2026-12-07), the machine was ~40 % busy on average. ``scripts/test.sh``
therefore starts a second, isolated stack (its own ``var/shard-b``, ports shifted by
``OPSBOOK_PORT_OFFSET``, its own PostgreSQL database and Redis key prefix) and runs two pytest
sessions side by side, each selecting its share with ``OPSBOOK_TEST_SHARD``:

- **b**: day 4 (the longest day): nbval's reference run first, on a stack that has just
  started; then the Celery and blue-green tests; then the untouched release graded as the
  next student, on the stack the reference run used.
- **a**: everything else, in the order of a course (``tests/conftest.py``).

Each day keeps its reference run and its grading on one stack, in that order. Days share the
evidence folder, and two things read another day's files, so the sessions meet at three points
(marker files in ``OPSBOOK_TEST_SYNC``):

- day 5's reference run (a) reads the week's summaries: it waits for day 4's reference run (b);
- day 4's grading (b) rewrites ``evidencia/dia_4``: it waits until day 5's reference run (a)
  has read it;
- day 5's graded pair (a) reads the week again: it waits for the end of b, as it ran after
  day 4's grading when everything ran on one stack.

A session that ends, however it ends, leaves all its markers, so the other never waits for a
dead one beyond its tests; every wait is also bounded (:data:`WAIT_S`). Without
``OPSBOOK_TEST_SHARD`` (``pytest`` by hand, ``OPSBOOK_TEST_SHARDS=1 make test``) nothing is
selected or awaited.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARD_ENV = "OPSBOOK_TEST_SHARD"
"""``a`` or ``b``: the share of the live tests this pytest session runs (unset: all)."""

SYNC_ENV = "OPSBOOK_TEST_SYNC"
"""Folder where both sessions leave their markers."""

DAY4 = "notebooks/dia_4_escalado/dia_4_escalado.ipynb"
DAY5 = "notebooks/dia_5_documentacion/dia_5_documentacion.ipynb"

SHARD_B = (
    DAY4,
    "tests/integration/test_celery.py",
    "tests/integration/test_blue_green.py",
    "tests/integration/test_grading_dia4.py",
)
"""Files whose tests run on the second stack, in this order."""

SIGNAL_AFTER = {
    "b": {DAY4: "dia4_referencia"},
    "a": {DAY5: "dia5_referencia"},
}
"""Per session: file → marker left once its last test is done."""

WAIT_BEFORE = {
    "b": {"tests/integration/test_grading_dia4.py": "dia5_referencia"},
    "a": {DAY5: "dia4_referencia", "tests/integration/test_grading_dia5.py": "fin_b"},
}
"""Per session: file → marker of the other session awaited before its first test."""

AT_END = {"a": ("dia5_referencia", "fin_a"), "b": ("dia4_referencia", "fin_b")}
"""Markers each session leaves when it ends, whatever happened before."""

WAIT_S = 1800.0
"""Bound of a wait for the other session (its whole run takes ~10 minutes)."""


def shard() -> str | None:
    """The share of this session (``a``/``b``), or None when the live tests are not split."""
    value = os.environ.get(SHARD_ENV, "").strip().lower()
    return value if value in ("a", "b") else None


def rel(path: Path, root: Path) -> str:
    """``path`` relative to the repository, with forward slashes."""
    return path.resolve().relative_to(root).as_posix()


def select(items: list, root: Path, which: str) -> tuple[list, list]:
    """Split the (already ordered) items into this session's share and the rest.

    Session b runs its files in :data:`SHARD_B`'s order; session a keeps the order it got.
    """
    mine = [i for i in items if (rel(i.path, root) in SHARD_B) == (which == "b")]
    if which == "b":
        mine.sort(key=lambda i: SHARD_B.index(rel(i.path, root)))
    kept = {id(i) for i in mine}
    return mine, [i for i in items if id(i) not in kept]


def marker(name: str) -> Path | None:
    """Path of a marker in the shared folder (None when the tests are not split)."""
    folder = os.environ.get(SYNC_ENV)
    return Path(folder) / name if folder else None


def leave(name: str) -> None:
    """Leave a marker for the other session."""
    path = marker(name)
    if path is not None:
        path.touch()


def await_marker(name: str, what: str) -> float:
    """Wait, bounded by :data:`WAIT_S`, for the other session's marker; seconds waited."""
    import time

    from opsbook.waiting import wait_until

    path = marker(name)
    if path is None:
        return 0.0
    started = time.monotonic()
    wait_until(path.exists, WAIT_S, 1.0, f"la otra pila de pruebas ({what})")
    return time.monotonic() - started
