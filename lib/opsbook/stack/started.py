"""The stack's record of what it started: supervisord's pid and start time, per boot.

Why this module exists: ``opsbook stack down`` and the runbook sweep orphans (children a
``kill -9`` re-parented to init, which supervisord no longer knows). They must end only
processes this stack started — never a student's ``tail -f var/log/...`` or ``sqlite3
var/warehouse.db``, which merely name the stack's files. supervisord starts its own session
(``setsid`` when it daemonizes) and every program and child it starts stays in it, so the
recorded (pid, start time) of each supervisord this stack launched identifies them: a process
is ours when its session is a recorded supervisord's and it started after that supervisord.
A record from another boot, or whose pid now belongs to a younger process, matches nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from opsbook import records
from opsbook.settings import Settings, settings

_SLACK_S = 0.05
"""Clock granularity of ``create_time`` (jiffies): a child may read as started a bit earlier."""


@dataclass(frozen=True)
class Started:
    """One supervisord this stack launched.

    Attributes:
        pid: its pid (also its session id).
        create_time: ``psutil.Process.create_time()`` of it.
        boot_time: ``psutil.boot_time()`` when it was recorded.
    """

    pid: int
    create_time: float
    boot_time: float


def ledger_path(cfg: Settings = settings) -> Path:
    """``var/run/started.json``."""
    return cfg.run_dir / "started.json"


def recorded(cfg: Settings = settings) -> list[Started]:
    """The supervisords recorded in this boot (older boots' records are ignored)."""
    try:
        rows = json.loads(ledger_path(cfg).read_text())
    except (OSError, ValueError):
        return []
    boot = psutil.boot_time()
    out = []
    for row in rows if isinstance(rows, list) else []:
        try:
            entry = Started(int(row["pid"]), float(row["create_time"]), float(row["boot_time"]))
        except (KeyError, TypeError, ValueError):
            continue
        if abs(entry.boot_time - boot) < 2:
            out.append(entry)
    return out


def record(pid: int, cfg: Settings = settings) -> Started:
    """Record a supervisord the stack just started (pid and start time, read now).

    Raises:
        psutil.NoSuchProcess: ``pid`` is not running.
    """
    entry = Started(pid, psutil.Process(pid).create_time(), psutil.boot_time())
    entries = [e for e in recorded(cfg) if e.pid != pid] + [entry]
    path = ledger_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    records.write_atomic(path, json.dumps([asdict(e) for e in entries], indent=2))
    return entry


def forget(cfg: Settings = settings) -> None:
    """Drop the records (``down`` verified that nothing of the stack survived)."""
    ledger_path(cfg).unlink(missing_ok=True)


def _session_still_ours(entry: Started) -> bool:
    """False when the recorded pid now belongs to a younger process (pid reused)."""
    try:
        return abs(psutil.Process(entry.pid).create_time() - entry.create_time) < _SLACK_S
    except psutil.NoSuchProcess:
        return True  # supervisord is gone; its session lives on in its orphans
    except psutil.Error:
        return False


def started_by_stack(proc: psutil.Process, entries: list[Started]) -> Started | None:
    """The record whose session ``proc`` belongs to (None: the stack did not start it).

    Args:
        proc: any process.
        entries: :func:`recorded`.
    """
    try:
        sid = os.getsid(proc.pid)
        created = proc.create_time()
    except (OSError, psutil.Error):
        return None
    for entry in entries:
        if sid == entry.pid and created >= entry.create_time - _SLACK_S \
                and _session_still_ours(entry):
            return entry
    return None
