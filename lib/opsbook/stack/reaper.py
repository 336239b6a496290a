"""Kill a process with ``kill -9`` and reap, by pid, the orphans it leaves behind.

Why this module exists: ``kill -9`` ends one process, not its tree. The scheduler's
LocalExecutor workers (``airflow worker -- LocalExecutor``), task supervisors and Celery pool
processes are re-parented to init and keep running, holding memory and the metadata DB, and
supervisord never stops them: it only knows the pid it started. Airflow also rewrites their
process title with ``setproctitle``, which wipes their environment, so the stack's
environment mark cannot find them afterwards. Every deliberate kill (day-3 drill, day-4
worker failure) therefore records the tree *before* the kill and reaps what is still alive
*after* it. Processes are held as :class:`psutil.Process` objects, which check the creation
time before signalling, so a pid reused by an unrelated process is never touched.

Measured on Airflow 3.3.2: idle LocalExecutor workers inherit the scheduler's SIGTERM
handler (``_exit_gracefully``), which does nothing outside the scheduler process, so they
ignore SIGTERM; they go only with the SIGKILL that follows the grace.
"""

from __future__ import annotations

import os
import signal
import time

import psutil

from opsbook.waiting import WaitTimeout, wait_until

DEFAULT_GRACE_S = 5.0
"""Seconds an orphan has to exit after SIGTERM before it gets SIGKILL."""


def describe(proc: psutil.Process) -> dict:
    """``{"pid", "cmd"}`` of a process (``cmd`` is ``"?"`` once it is gone)."""
    try:
        cmd = " ".join(a for a in proc.cmdline() if a)[:160]
    except psutil.Error:
        cmd = "?"
    return {"pid": proc.pid, "cmd": cmd}


def alive(proc: psutil.Process) -> bool:
    """Whether the process still runs (a zombie is dead: it only waits to be collected)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(procs: list[psutil.Process], timeout_s: float, what: str) -> None:
    """Wait (bounded, silently) until none of ``procs`` is alive; the caller checks again."""
    try:
        wait_until(lambda: not any(alive(p) for p in procs), timeout_s, 0.1,
                   f"los procesos {[p.pid for p in procs]} {what}")
    except WaitTimeout:
        return


def group_members(pgid: int) -> list[psutil.Process]:
    """Live processes whose process group is ``pgid``.

    supervisord starts each program as the leader of its own group, and children stay in it
    unless they leave on purpose, so the group finds children forked after any snapshot.
    """
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                found.append(proc)
        except (OSError, psutil.Error):
            continue
    return found


def _tree(pid: int) -> dict[int, psutil.Process]:
    """The process ``pid``'s descendants, plus its process group when it leads one."""
    found: dict[int, psutil.Process] = {}
    try:
        root = psutil.Process(pid)
        found.update({c.pid: c for c in root.children(recursive=True)})
        if os.getpgid(pid) == pid:
            found.update({p.pid: p for p in group_members(pid)})
    except (OSError, psutil.Error):
        pass
    found.pop(pid, None)
    return found


def _with_descendants(procs: dict[int, psutil.Process]) -> dict[int, psutil.Process]:
    out = dict(procs)
    for proc in list(procs.values()):
        try:
            out.update({c.pid: c for c in proc.children(recursive=True)})
        except psutil.Error:
            continue
    return out


def _signal(proc: psutil.Process, sig: int) -> bool:
    try:
        proc.send_signal(sig)  # psutil refuses a pid now owned by another process
        return True
    except psutil.Error:
        return False


def reap(procs: list[psutil.Process], grace_s: float = DEFAULT_GRACE_S) -> dict:
    """Stop the given processes (and their descendants): SIGTERM, then SIGKILL after a grace.

    Args:
        procs: the processes to stop (already dead ones are skipped).
        grace_s: seconds to wait after SIGTERM; ``0`` sends SIGKILL at once.

    Returns:
        ``{"orphans": [{pid, cmd}], "terminated": [pids], "killed": [pids],
        "survivors": [pids]}``: ``terminated`` exited on SIGTERM, ``killed`` needed SIGKILL,
        ``survivors`` are still alive at the end (should be empty).
    """
    targets = _with_descendants({p.pid: p for p in procs})
    targets = {pid: p for pid, p in sorted(targets.items()) if alive(p)}
    orphans = [describe(p) for p in targets.values()]
    terminated: list[int] = []
    pending = list(targets.values())
    if grace_s > 0:
        pending = [p for p in pending if _signal(p, signal.SIGTERM)]
        waiting_for = list(pending)
        _wait_gone(pending, grace_s, "terminen tras SIGTERM")
        terminated = [p.pid for p in waiting_for if not alive(p)]
        pending = [p for p in waiting_for if alive(p)]
    killed = [p.pid for p in pending if _signal(p, signal.SIGKILL)]
    _wait_gone(pending, 10, "terminen tras SIGKILL")
    return {"orphans": orphans, "terminated": sorted(terminated), "killed": sorted(killed),
            "survivors": sorted(p.pid for p in pending if alive(p))}


def kill_tree(pid: int, grace_s: float = DEFAULT_GRACE_S) -> dict:
    """``kill -9`` one process, then reap the children it leaves behind, by pid.

    The tree (descendants, plus the process group when ``pid`` leads one) is recorded
    before the kill; after it, whatever of it is still alive — and any child forked in
    between, found through the process group — is stopped with :func:`reap`.

    Args:
        pid: the process to kill with SIGKILL.
        grace_s: SIGTERM grace for the orphans (``0``: SIGKILL at once).

    Returns:
        ``{"pid", "killed_at"}`` (epoch seconds of the SIGKILL) plus :func:`reap`'s keys.

    Raises:
        psutil.NoSuchProcess: ``pid`` does not exist.
    """
    root = psutil.Process(pid)
    leader = os.getpgid(pid) == pid
    before = _tree(pid)
    os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    try:
        root.wait(timeout=10)
    except psutil.TimeoutExpired:  # a zombie of a parent that does not collect it
        pass
    if leader:
        before.update({p.pid: p for p in group_members(pid)})
    before.pop(pid, None)
    return {"pid": pid, "killed_at": killed_at, **reap(list(before.values()), grace_s)}
