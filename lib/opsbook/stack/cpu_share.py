"""One core kept for the api-server while the stack starts: the start's critical path.

Why this module exists: of everything ``up`` starts, the api-server is the last to be ready. It
builds Airflow's FastAPI app (~650 routes, 3.5 s of CPU on the course's 2-core machines), and
in the same seconds the scheduler, dag-processor, triggerer, the services and the CLI itself
burn ~2.2 s of CPU. On two cores the kernel shares them fairly, so the api-server waited
0.8–1.5 s in the run queue (``/proc/<pid>/schedstat``, docs/rendimiento.md). While the
api-server starts, :class:`CoreReservation` keeps every *other* process of the stack off one
core (CPU affinity); once ``up`` is done, every process gets all its CPUs back.

Why affinity and not priority: an unprivileged user may lower a process's priority but never
raise it back (``RLIMIT_NICE`` is 0 on the course machines), so ``nice`` would slow the
scheduler for the whole course; any user may set and reset the affinity of their own
processes. The standard library (:func:`os.sched_setaffinity`) sets it and psutil walks the
process tree; what to confine and when is the stack's own policy, hence these lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import psutil

from opsbook import records

RELEASE_PASSES = 2
"""Walks of the tree when giving the CPUs back: a child forked by a confined parent while the
first walk ran inherits the confinement and is found by the second."""


def _tree(root_pid: int | None, extra: Iterable[int]) -> list[int]:
    """``root_pid``, its descendants and ``extra``, as pids (the gone ones skipped)."""
    pids: list[int] = list(extra)
    if root_pid:
        try:
            root = psutil.Process(root_pid)
            pids += [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.Error:
            pass
    return pids


def set_cpus(pids: Iterable[int], cpus: set[int]) -> int:
    """Set the affinity of every thread of every process in ``pids`` to ``cpus``.

    Linux keeps an affinity per thread and a new thread inherits its creator's, so a process
    that started threads while confined has each of them confined: all are set. A process
    that is gone (or not ours) is skipped. A pid of 0 would mean the caller itself to the
    kernel, so it is rejected.

    Returns:
        How many processes were set.

    Raises:
        ValueError: a pid ≤ 0.
    """
    done = 0
    for pid in pids:
        if pid <= 0:
            raise ValueError(f"pid no válido: {pid}")
        try:
            tids = [thread.id for thread in psutil.Process(pid).threads()] or [pid]
        except psutil.Error:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(tid, cpus)
            except (ProcessLookupError, PermissionError):
                continue
        done += 1
    return done


class CoreReservation:
    """Keep one core for one process of a tree while a block runs; give every CPU back after.

    Entering confines ``root_pid``'s tree (supervisord and what it runs) and the calling
    process to every CPU of the caller but the lowest; processes they fork inherit it.
    :meth:`admit` gives one process (the api-server, forked confined) all the CPUs. Leaving
    gives the whole tree and the caller back every CPU, also on an exception. While it holds,
    ``marker`` records the CPUs, so a start killed midway is undone by the next ``up``
    (:func:`release_left_over`). With fewer than two CPUs, or not ``enabled``, it does nothing.

    Attributes:
        cpus: the CPUs of the calling process when it was made.
        reserved: the kept core (None: it does nothing).
        confined: how many processes entering confined (the caller included).
    """

    def __init__(self, root_pid: int | None, marker: Path, cpus: set[int] | None = None,
                 enabled: bool = True) -> None:
        """Prepare the reservation; nothing changes until it is entered.

        Args:
            root_pid: supervisord's pid (None: only the caller is confined).
            marker: file that records the CPUs while the reservation holds.
            cpus: the CPUs to share (default: the caller's affinity).
            enabled: False makes it do nothing at all (the api-server is not being started).
        """
        self.root_pid = root_pid
        self.marker = marker
        self.cpus = set(cpus if cpus is not None else os.sched_getaffinity(0))
        self.reserved = min(self.cpus) if enabled and len(self.cpus) > 1 else None
        self.confined = 0

    @property
    def rest(self) -> set[int]:
        """The CPUs the confined processes may use."""
        return self.cpus - {self.reserved} if self.reserved is not None else set(self.cpus)

    def __enter__(self) -> CoreReservation:
        if self.reserved is not None:
            records.write_atomic(self.marker, json.dumps(sorted(self.cpus)))
            self.confined = set_cpus(_tree(self.root_pid, [os.getpid()]), self.rest)
        return self

    def admit(self, pid: int | None) -> None:
        """Give ``pid`` every CPU (a pid of None or 0 — not started — is ignored)."""
        if self.reserved is not None and pid:
            set_cpus([pid], self.cpus)

    def __exit__(self, *exc_info: object) -> None:
        if self.reserved is not None:
            release(self.root_pid, self.cpus)
            self.marker.unlink(missing_ok=True)


def release(root_pid: int | None, cpus: set[int]) -> int:
    """Give ``root_pid``'s tree and the caller every CPU in ``cpus``.

    Returns:
        How many processes were set in the last walk.
    """
    set_cpus([os.getpid()], cpus)
    done = 0
    for _ in range(RELEASE_PASSES):
        done = set_cpus(_tree(root_pid, []), cpus)
    return done


def release_left_over(root_pid: int | None, marker: Path) -> bool:
    """Undo the reservation of a start that was killed before it ended, if ``marker`` says so.

    Returns:
        Whether there was one to undo.
    """
    try:
        cpus = {int(cpu) for cpu in json.loads(marker.read_text())}
    except FileNotFoundError:
        return False
    except (OSError, ValueError, TypeError):
        cpus = set(os.sched_getaffinity(0))  # unreadable: the caller's CPUs
    if cpus:
        release(root_pid, cpus)
    marker.unlink(missing_ok=True)
    return True
