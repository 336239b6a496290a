"""The core kept for the api-server during a start (opsbook.stack.cpu_share), on real processes.

Each test starts real processes (a parent with a child, a process with threads) and reads
their affinity back from the kernel, thread by thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil
import pytest
from opsbook.stack import cpu_share

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="necesita dos CPU o más"),
]

ALL = set(os.sched_getaffinity(0))
REST = ALL - {min(ALL)}

PARENT = """
import subprocess, sys, threading, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
print(child.pid, flush=True)
time.sleep(60)
"""
"""A parent with one child process and one extra thread; prints the child's pid."""


def thread_cpus(pid: int) -> list[set[int]]:
    """The affinity of every thread of ``pid``."""
    return [set(os.sched_getaffinity(t.id)) for t in psutil.Process(pid).threads()]


@pytest.fixture
def tree():
    """(parent pid, child pid) of a running :data:`PARENT`; both killed after the test."""
    proc = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    deadline = time.monotonic() + 10
    while len(psutil.Process(proc.pid).threads()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield proc.pid, child
    for pid in (child, proc.pid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    proc.wait(10)


@pytest.fixture(autouse=True)
def caller_keeps_its_cpus():
    """Whatever a test does, the test process ends with every CPU it started with."""
    yield
    cpu_share.set_cpus([os.getpid()], ALL)


def test_reservation_confines_the_tree_and_the_caller_and_gives_all_back(tree, tmp_path):
    parent, child = tree
    marker = tmp_path / "cpu_reservation.json"
    with cpu_share.CoreReservation(parent, marker) as res:
        assert res.reserved == min(ALL) and res.rest == REST
        assert res.confined == 3  # parent, child, caller
        assert all(cpus == REST for cpus in thread_cpus(parent))
        assert thread_cpus(child) == [REST]
        assert set(os.sched_getaffinity(0)) == REST
        assert json.loads(marker.read_text()) == sorted(ALL)
        # a process forked by a confined one inherits it; admit gives it every CPU
        late = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            assert set(os.sched_getaffinity(late.pid)) == REST
            res.admit(late.pid)
            assert set(os.sched_getaffinity(late.pid)) == ALL
        finally:
            late.kill()
            late.wait(10)
    assert all(cpus == ALL for cpus in thread_cpus(parent))
    assert thread_cpus(child) == [ALL]
    assert set(os.sched_getaffinity(0)) == ALL
    assert not marker.exists()


def test_threads_started_while_confined_get_every_cpu_back(tmp_path):
    """Linux keeps one affinity per thread: a thread born confined must be released too."""
    script = ("import threading, time, sys\nsys.stdin.readline()\n"
              "for _ in range(3): threading.Thread(target=time.sleep, args=(60,)).start()\n"
              "print('ok', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        with cpu_share.CoreReservation(proc.pid, tmp_path / "m.json"):
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ok"
            born_confined = thread_cpus(proc.pid)
            assert len(born_confined) == 4 and all(c == REST for c in born_confined)
        assert thread_cpus(proc.pid) == [ALL] * 4
    finally:
        proc.kill()
        proc.wait(10)


def test_an_exception_inside_still_gives_every_cpu_back(tree, tmp_path):
    parent, _ = tree
    marker = tmp_path / "m.json"
    with pytest.raises(RuntimeError), cpu_share.CoreReservation(parent, marker):
        raise RuntimeError("up falló a mitad")
    assert all(cpus == ALL for cpus in thread_cpus(parent))
    assert set(os.sched_getaffinity(0)) == ALL and not marker.exists()


def test_disabled_or_single_cpu_changes_nothing(tree, tmp_path):
    parent, _ = tree
    marker = tmp_path / "m.json"
    for res in (cpu_share.CoreReservation(parent, marker, enabled=False),
                cpu_share.CoreReservation(parent, marker, cpus={min(ALL)})):
        with res:
            assert res.reserved is None and res.confined == 0
            res.admit(parent)
            assert all(cpus == ALL for cpus in thread_cpus(parent))
            assert not marker.exists()


def test_a_start_killed_midway_is_undone_by_the_next_up(tree, tmp_path):
    """The marker a killed reservation left says which CPUs to give back; it is then gone."""
    parent, child = tree
    marker = tmp_path / "m.json"
    cpu_share.set_cpus([parent, child], REST)  # what a killed `up` leaves behind
    marker.write_text(json.dumps(sorted(ALL)))
    assert cpu_share.release_left_over(parent, marker) is True
    assert all(cpus == ALL for cpus in thread_cpus(parent)) and thread_cpus(child) == [ALL]
    assert not marker.exists()
    assert cpu_share.release_left_over(parent, marker) is False  # nothing left: nothing done


def test_unreadable_marker_falls_back_to_the_callers_cpus(tree, tmp_path):
    parent, _ = tree
    marker = tmp_path / "m.json"
    cpu_share.set_cpus([parent], REST)
    marker.write_text("{no es json")
    assert cpu_share.release_left_over(parent, marker) is True
    assert all(cpus == ALL for cpus in thread_cpus(parent)) and not marker.exists()


def test_gone_processes_are_skipped_and_pid_zero_is_refused():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(10)
    assert cpu_share.set_cpus([proc.pid], REST) == 0
    assert cpu_share.release(None, ALL) == 0  # no tree: only the caller
    with pytest.raises(ValueError, match="pid no válido"):
        cpu_share.set_cpus([0], REST)
