"""``make test``'s live part on two stacks at once: which tests each runs and where they wait.

Why this exists: the live part runs every day twice (nbval's reference run, then the grading
of the untouched release as the next student) on one stack, one test at a time, and most of
that time is spent waiting on the stack (alert windows, SLA deadlines, retries, deploys):
measured on 2 cores (2026-12-07), the machine was ~40 % busy on average. ``scripts/test.sh``
therefore starts a second, isolated stack (its own ``var/shard-b``, ports shifted by
``OPSBOOK_PORT_OFFSET``, its own PostgreSQL database and Redis key prefix) and runs two pytest
sessions side by side, each selecting its share with ``OPSBOOK_TEST_SHARD``:

- **b**: day 4 (the longest day): nbval's reference run first, on a stack that has just
  started; then the Celery and blue-green tests and three self-contained files (the DAG's
  tests, a run through the REST API, an alert end to end); then the untouched release graded
  as the next student, on the stack the reference run used.
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
dead one beyond its tests; every wait is also bounded (:data:`WAIT_S`). The session takes both
variables out of its environment as it starts (:func:`claim`): the pytest that day 1's notebook
runs inside it must not leave the session's end-of-run markers when *it* ends (the first
two-stack run did exactly that). Without ``OPSBOOK_TEST_SHARD`` (``pytest`` by hand,
``OPSBOOK_TEST_SHARDS=1 make test``) nothing is selected or awaited.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

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
    "tests/dags/test_pipeline_ventas.py",
    "tests/integration/test_pipeline_live.py",
    "tests/integration/test_alert_flow.py",
    "tests/integration/test_grading_dia4.py",
)
"""Files whose tests run on the second stack, in this order. Between day 4's reference run and
its grading, b would otherwise sit waiting for day 5's reference run on a (measured: ~180 s), so
three self-contained files of a's (~80 s: no evidence of any day, no order) run there."""

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

AT_END = {which: (*signals.values(), f"fin_{which}") for which, signals in SIGNAL_AFTER.items()}
"""Markers each session leaves when it ends, whatever happened before: all it signals on the
way, and its end."""

WAIT_S = 1800.0
"""Bound of a wait for the other session (its whole run takes ~10 minutes)."""


_CLAIMED: dict = {}
"""This session's share and meeting folder once :func:`claim` took them from the environment."""


def claim() -> str | None:
    """Take this session's share and meeting folder out of the environment; the share.

    Called once by ``tests/conftest.py`` as pytest starts. The variables are removed so that
    what this session starts (the notebooks' kernels, the nested pytest of day 1's suite)
    never acts as a share: a nested session that ended would otherwise leave this session's
    end-of-run markers while it is still running.
    """
    which = os.environ.pop(SHARD_ENV, "").strip().lower()
    folder = os.environ.pop(SYNC_ENV, "")
    _CLAIMED.update(shard=which if which in ("a", "b") else None, folder=folder or None)
    return _CLAIMED["shard"]


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
    folder = _CLAIMED.get("folder")
    return Path(folder) / name if folder else None


def leave(name: str) -> None:
    """Leave a marker for the other session."""
    path = marker(name)
    if path is not None:
        path.touch()


def await_marker(name: str) -> float:
    """Wait, bounded by :data:`WAIT_S`, for the other session's marker; seconds waited."""
    from opsbook.waiting import wait_until  # lib/ is on the path once conftest ran

    path = marker(name)
    if path is None:
        return 0.0
    started = time.monotonic()
    wait_until(path.exists, WAIT_S, 1.0, f"la otra pila de pruebas ({name})")
    return time.monotonic() - started


class Meetings:
    """The pytest plugin of one share: waits before, and markers after, the files that meet.

    Registered as a plugin (not conftest hooks, which pytest only calls for the items under
    the conftest's folder: ``notebooks/`` is not under ``tests/``).
    """

    def __init__(self, which: str):
        self.which = which
        self.waits: dict[str, str] = {}
        self.signals: dict[str, str] = {}
        self.waited: list[tuple[str, float]] = []

    def plan(self, items: list, root: Path) -> None:
        """Find the first test of each file to wait before and the last of each to signal."""
        paths = [rel(i.path, root) for i in items]
        for path, name in WAIT_BEFORE[self.which].items():
            if path in paths:
                self.waits[items[paths.index(path)].nodeid] = name
        for path, name in SIGNAL_AFTER[self.which].items():
            if path in paths:
                self.signals[items[len(paths) - 1 - paths[::-1].index(path)].nodeid] = name

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item) -> None:
        name = self.waits.get(item.nodeid)
        if name:
            self.waited.append((name, await_marker(name)))

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "teardown" and report.nodeid in self.signals:
            leave(self.signals[report.nodeid])

    def pytest_sessionfinish(self) -> None:
        for name in AT_END[self.which]:
            leave(name)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.write_line(
            f"sesión {self.which}: esperas a la otra pila: "
            + (", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.waited)
               or "ninguna"))
