"""The reaper against real process trees: ``kill -9`` of a parent leaves its children running;
:func:`opsbook.stack.reaper.kill_tree` records them first and leaves none behind.

Also :func:`opsbook.stack.health.stray_processes`, which ``opsbook stack down`` uses to sweep such
orphans: it must find the processes the stack started (the recorded supervisord's session, its
environment mark) and nothing that merely names or holds the stack's ``var`` directory.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from opsbook.settings import settings
from opsbook.stack import health, reaper, started
from opsbook.waiting import WaitTimeout, wait_until

pytestmark = pytest.mark.unit

SLEEPER = "import time; time.sleep(120)"
STUBBORN = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('listo', flush=True); time.sleep(120)")
DETACHER = ("import subprocess, sys; "
            f"p = subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); print(p.pid)")
# A parent with three children: one that exits on SIGTERM, one that ignores it, and one
# already re-parented away from the parent (its intermediate exited) but still in its group.
PARENT = f"""
import subprocess, sys, time
py = sys.executable
plain = subprocess.Popen([py, '-c', {SLEEPER!r}])
stubborn = subprocess.Popen([py, '-c', {STUBBORN!r}], stdout=subprocess.PIPE)
stubborn.stdout.readline()
detacher = subprocess.Popen([py, '-c', {DETACHER!r}], stdout=subprocess.PIPE)
detached = int(detacher.stdout.readline())
detacher.wait()
print(plain.pid, stubborn.pid, detached, flush=True)
time.sleep(120)
"""


def running(pid: int) -> bool:
    """Independent of psutil: the process exists and is not a zombie (/proc state)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], timeout_s: float = 10.0) -> list[int]:
    try:
        wait_until(lambda: not any(running(p) for p in pids), timeout_s, 0.05,
                   f"terminen {pids}")
    except WaitTimeout:
        pass
    return [p for p in pids if running(p)]


@pytest.fixture
def tree():
    """A real process tree; yields (parent Popen, [plain, stubborn, detached] pids)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE,
                              start_new_session=True)  # a group leader, like supervisord's
    children = [int(x) for x in parent.stdout.readline().split()]
    yield parent, children
    for pid in [parent.pid, *children]:  # never leave a test process behind
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    parent.wait()


def test_plain_kill_9_leaves_the_children_running(tree):
    # the defect the reaper exists for: SIGKILL of the parent does not reach its children
    parent, children = tree
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    time.sleep(0.5)
    assert all(running(p) for p in children)
    assert all(psutil.Process(p).ppid() != parent.pid for p in children)


def test_kill_tree_reaps_every_orphan(tree):
    parent, children = tree
    plain, stubborn, detached = children
    report = reaper.kill_tree(parent.pid, grace_s=1.0)
    parent.wait()
    assert not running(parent.pid)
    assert wait_gone(children) == []
    assert {o["pid"] for o in report["orphans"]} == set(children)
    assert plain in report["terminated"] and detached in report["terminated"]
    assert report["killed"] == [stubborn]  # ignored SIGTERM: SIGKILL after the grace
    assert report["survivors"] == []
    assert report["pid"] == parent.pid and report["killed_at"] <= time.time()


def test_reap_touches_only_the_given_processes(tree):
    parent, children = tree
    bystander = subprocess.Popen([sys.executable, "-c", SLEEPER])
    try:
        report = reaper.reap([psutil.Process(children[0])], grace_s=0)
        assert report["killed"] == [children[0]] and report["terminated"] == []
        assert wait_gone([children[0]]) == []
        assert running(bystander.pid) and running(parent.pid)
        assert all(running(p) for p in children[1:])
    finally:
        bystander.kill()
        bystander.wait()


def test_reap_skips_a_process_that_already_exited():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    handle = psutil.Process(proc.pid)
    proc.wait()
    assert reaper.reap([handle], grace_s=0.2) == {
        "orphans": [], "terminated": [], "killed": [], "survivors": []}


# A stand-in for supervisord: its own session, one child that stays in it.
FAKE_SUPERVISORD = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, '-c', {SLEEPER!r}])
print(child.pid, flush=True)
time.sleep(120)
"""


@pytest.fixture
def strays(tmp_path):
    """A fake stack in ``tmp_path/var`` whose recorded supervisord was killed with ``-9``.

    Its orphan (still in the recorded session) and a younger process carrying the stack's
    environment mark were started by the stack; every other process only names or holds the
    stack's files, or belongs to another stack, and must be left alone.
    """
    var = tmp_path / "var"
    (var / "airflow").mkdir(parents=True)
    other = tmp_path / "other" / "var"
    other.mkdir(parents=True)
    cfg = dataclasses.replace(settings, var=var)
    holder = ("import sys, time; f = open(sys.stdin.readline().strip(), 'a'); "
              "print('listo', flush=True); time.sleep(120)")
    older_mark = subprocess.Popen([sys.executable, "-c", SLEEPER],
                                  env={"OPSBOOK_STACK_ID": str(var)})
    born = psutil.Process(older_mark.pid).create_time()

    def now_on_process_clock() -> float:
        # create_time() is boot_time (whole seconds) + jiffies since boot, so compare with that
        # clock, not time.time(): the two differ by up to a second.
        return psutil.boot_time() + float(Path("/proc/uptime").read_text().split()[0])

    wait_until(lambda: now_on_process_clock() - born > 0.2, timeout=5, interval=0.05,
               what="que el proceso anterior a la pila sea claramente más viejo")
    fake = subprocess.Popen([sys.executable, "-c", FAKE_SUPERVISORD], stdout=subprocess.PIPE,
                            start_new_session=True)
    orphan = int(fake.stdout.readline())
    started.record(fake.pid, cfg)
    fake.kill()  # kill -9 of supervisord: its child is re-parented, still in its session
    fake.wait()
    specs = {
        "mark": ([sys.executable, "-c", SLEEPER], {"OPSBOOK_STACK_ID": str(var)}),
        # not started by the stack, whatever they name or hold
        "argv": ([sys.executable, "-c", SLEEPER, f"--config.file={var}/run/x.yml"], None),
        "tail": ([sys.executable, "-c", SLEEPER, str(var / "log" / "scheduler.log")], None),
        "open_file": ([sys.executable, "-c", holder], {}, var / "airflow" / "airflow.db"),
        "other_mark": ([sys.executable, "-c", SLEEPER], {"OPSBOOK_STACK_ID": str(other)}),
        "kernel": ([sys.executable, "-c", holder], {"OPSBOOK_VAR_DIR": str(var)},
                   var / "warehouse.db"),  # a notebook kernel reading the stack's warehouse
    }
    procs = {"orphan": psutil.Process(orphan), "older_mark": older_mark}
    for name, (argv, env, *held) in specs.items():
        procs[name] = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        if held:
            procs[name].stdin.write(f"{held[0]}\n")
            procs[name].stdin.flush()
            assert procs[name].stdout.readline().strip() == "listo"
    yield cfg, procs
    for proc in procs.values():
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue
        if isinstance(proc, subprocess.Popen):
            proc.wait()


def test_stray_processes_are_only_what_the_stack_started(strays):
    cfg, procs = strays
    found = {p.pid: why for p, why in health.stray_processes(cfg)}
    assert found == {procs["orphan"].pid: "sesión de supervisord",
                     procs["mark"].pid: "marca de entorno"}


def test_no_record_no_strays(strays):
    cfg, _procs = strays
    started.forget(cfg)
    assert health.stray_processes(cfg) == []


def test_down_sweeps_the_strays_and_spares_everything_else(strays):
    from opsbook.stack.control import down

    cfg, procs = strays
    result = down(cfg, timeout_s=10)
    ours = {"orphan", "mark"}
    swept = {o["pid"]: o["reason"] for o in result["strays"]}
    assert swept == {procs["orphan"].pid: "sesión de supervisord",
                     procs["mark"].pid: "marca de entorno"}
    assert result["survivors"] == [] and result["stopped"] == 2
    assert wait_gone([procs[n].pid for n in ours]) == []
    assert all(running(p.pid) for n, p in procs.items() if n not in ours)
    assert not started.ledger_path(cfg).exists()


def test_scheduler_restart_reaps_the_orphans_of_the_crash(monkeypatch):
    from opsbook.incidents import recovery

    child = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "listo"  # TERM ignored, like a LocalExecutor worker
    proc = psutil.Process(child.pid)
    monkeypatch.setattr(health, "stray_processes", lambda cfg: [(proc, "huérfano de prueba")])
    assert recovery._reap_strays() == [child.pid]
    assert child.wait(timeout=10) == -signal.SIGKILL
    monkeypatch.setattr(health, "stray_processes", lambda cfg: [])
    assert recovery._reap_strays() == []


# A process that forks on its way out: on SIGTERM it starts a child in a process group of its
# own (as Airflow 3.3's task supervisor starts each task runner), writes the child's pid to the
# file named in argv[1] and exits, orphaning it.
FORKS_ON_TERM = f"""
import pathlib, signal, subprocess, sys, time
def leave(*_):
    child = subprocess.Popen([sys.executable, '-c', {SLEEPER!r}], process_group=0)
    pathlib.Path(sys.argv[1]).write_text(str(child.pid))
    sys.exit(0)
signal.signal(signal.SIGTERM, leave)
print('listo', flush=True)
time.sleep(120)
"""
# A stand-in for supervisord whose child forks on its way out; prints the child's pid once the
# child is ready.
FORKING_SUPERVISORD = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, '-c', {FORKS_ON_TERM!r}, sys.argv[1]],
                         stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(120)
"""


def fake_stack(tmp_path, script: str, *args: str):
    """A fake stack in ``tmp_path/var`` recording a stand-in supervisord running ``script``."""
    cfg = dataclasses.replace(settings, var=tmp_path / "var")
    (cfg.var / "run").mkdir(parents=True)
    fake = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            text=True, start_new_session=True)
    started.record(fake.pid, cfg)
    return cfg, fake


@pytest.fixture
def forking_stack(tmp_path):
    """A fake stack whose supervisord's child forks on SIGTERM; yields (cfg, fake, forker, late).

    ``late()`` reads the pid of the child the forker left behind (after it got SIGTERM). No
    process of the fixture outlives the test.
    """
    late_file = tmp_path / "late.pid"
    cfg, fake = fake_stack(tmp_path, FORKING_SUPERVISORD, str(late_file))
    forker = int(fake.stdout.readline())
    yield cfg, fake, forker, lambda: int(late_file.read_text())
    leftovers = [fake.pid, forker, *([int(late_file.read_text())] if late_file.exists() else [])]
    for pid in leftovers:
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    fake.wait()


def test_sweep_strays_also_reaps_what_a_stray_forks_while_it_is_reaped(forking_stack):
    from opsbook.stack.control import sweep_strays

    cfg, fake, forker, late_pid = forking_stack
    fake.kill()  # kill -9 of supervisord: the forker is re-parented, still in its session
    fake.wait()
    report = sweep_strays(cfg, grace_s=5)
    late = late_pid()  # forked on SIGTERM, in its own process group
    assert [o["pid"] for o in report["orphans"]] == [forker, late]
    assert report["orphans"][1]["reason"] == "sesión de supervisord"
    assert report["terminated"] == [forker, late] and report["survivors"] == []
    assert wait_gone([forker, late]) == []
    assert health.stray_processes(cfg) == []


def test_kill_and_sweep_reaps_a_child_forked_into_its_own_group_during_the_reap(forking_stack):
    from opsbook.stack.control import kill_and_sweep

    cfg, fake, forker, late_pid = forking_stack
    # the forker is in the recorded tree; what it forks on SIGTERM is in neither the tree nor
    # the killed process's group: only the sweep of the stack's strays finds it
    report = kill_and_sweep(fake.pid, grace_s=5, cfg=cfg)
    fake.wait()
    late = late_pid()
    assert [o["pid"] for o in report["orphans"]] == [forker, late]
    assert report["late_orphans"] == 1 and report["survivors"] == []
    assert report["pid"] == fake.pid and wait_gone([forker, late]) == []


# A stand-in for supervisord that starts one more child on SIGUSR1 and prints its pid.
SPAWNING_SUPERVISORD = f"""
import signal, subprocess, sys, time
kids = []
def spawn(*_):
    kids.append(subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]))
    print(kids[-1].pid, flush=True)
signal.signal(signal.SIGUSR1, spawn)
print('listo', flush=True)
while True:
    time.sleep(1)
"""


def test_a_child_forked_after_the_tree_was_read_is_not_a_stray(tmp_path):
    cfg, fake = fake_stack(tmp_path, SPAWNING_SUPERVISORD)
    child = None
    try:
        assert fake.stdout.readline().strip() == "listo"
        root = psutil.Process(fake.pid)
        tree = {root.pid: root, **{c.pid: c for c in root.children(recursive=True)}}
        fake.send_signal(signal.SIGUSR1)  # a supervised program forks after that read
        child = int(fake.stdout.readline())
        assert child not in tree and psutil.Process(child).ppid() == fake.pid
        assert health._strays(cfg, tree) == []
        os.kill(fake.pid, signal.SIGKILL)  # once its parent is gone, it is a stray
        fake.wait()
        wait_until(lambda: psutil.Process(child).ppid() != fake.pid, 5, 0.05, "re-parenting")
        assert [(p.pid, why) for p, why in health._strays(cfg, {})] == [
            (child, "sesión de supervisord")]
    finally:
        for pid in (fake.pid, child):
            if pid and running(pid):
                os.kill(pid, signal.SIGKILL)
        fake.wait()
