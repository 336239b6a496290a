"""Stopping programs together, callers first: a real supervisord with stand-in programs.

A scheduler or worker stopped with a task in flight needs the API to report the task's end;
with the API stopped first it hung for its whole ``stopwaitsecs`` and was killed (20 s per
mode switch). The stand-ins record, at their SIGTERM, whether the "API" was still up.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from opsbook.stack import supervisor_conf as sup
from opsbook.stack.programs import Program
from opsbook.waiting import wait_until

pytestmark = pytest.mark.unit

API = """
import pathlib, signal, sys, time
flag = pathlib.Path(sys.argv[1]); flag.write_text("up")
def bye(*_):
    flag.write_text("down"); pathlib.Path(sys.argv[2]).write_text(repr(time.time())); sys.exit(0)
signal.signal(signal.SIGTERM, bye)
while True: time.sleep(0.1)
"""
SLOW = """
import pathlib, signal, sys, time
def bye(*_):
    time.sleep(1.5)  # a triggerer waiting for its child
    pathlib.Path(sys.argv[1]).write_text(repr(time.time())); sys.exit(0)
signal.signal(signal.SIGTERM, bye)
while True: time.sleep(0.1)
"""
CALLER = """
import pathlib, signal, sys, time
flag, seen = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def bye(*_):
    time.sleep(0.5)  # a task in flight reporting its end
    seen.write_text(flag.read_text()); sys.exit(0)
signal.signal(signal.SIGTERM, bye)
while True: time.sleep(0.1)
"""


@pytest.fixture
def supervised(tmp_path):
    from opsbook.settings import settings

    cfg = dataclasses.replace(settings, var=tmp_path / "var")
    cfg.log_dir.mkdir(parents=True)
    cfg.run_dir.mkdir(parents=True)
    flag = tmp_path / "api.flag"
    progs = [Program("api-server", [sys.executable, "-c", API, str(flag), str(tmp_path / "api")],
                     stopwaitsecs=5),
             Program("dag-processor", [sys.executable, "-c", SLOW, str(tmp_path / "slow")],
                     stopwaitsecs=5)]
    progs += [Program(name, [sys.executable, "-c", CALLER, str(flag), str(tmp_path / name)],
                      stopwaitsecs=5) for name in ("scheduler", "worker-1")]
    sup.write(progs, {}, cfg)
    subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(sup.conf_path(cfg))],
                   check=True)
    wait_until(lambda: sup.is_running(cfg), 20, 0.1, "supervisord arranque")
    proxy = sup.rpc(cfg, timeout=30)
    for prog in progs:
        proxy.supervisor.startProcess(prog.name, True)
    wait_until(lambda: flag.exists(), 20, 0.1, "la API de prueba arranque")
    yield proxy, tmp_path, [p.name for p in progs]
    proxy.supervisor.shutdown()


def test_callers_stop_while_the_api_still_answers_and_all_of_them_stop(supervised):
    proxy, folder, names = supervised
    sup.stop_groups(proxy, sorted(names))  # alphabetical: api-server would go first
    assert (folder / "scheduler").read_text() == "up"
    assert (folder / "worker-1").read_text() == "up"
    states = {p["name"]: p["statename"] for p in proxy.supervisor.getAllProcessInfo()}
    assert set(states.values()) == {"STOPPED"} and len(states) == 4
    assert (folder / "api.flag").read_text() == "down"  # stopped by its own SIGTERM handler


def test_the_api_does_not_wait_for_programs_that_never_call_it(supervised):
    proxy, folder, names = supervised
    sup.stop_groups(proxy, names)
    # the slow dag-processor got SIGTERM first, yet the API stopped before it had exited
    assert float((folder / "api").read_text()) < float((folder / "slow").read_text())


def test_stopping_what_is_not_running_is_not_an_error(supervised):
    proxy, _, names = supervised
    sup.stop_groups(proxy, names)
    sup.stop_groups(proxy, names + ["no-such-program"])  # nothing running: returns quietly
    assert all(p["statename"] == "STOPPED" for p in proxy.supervisor.getAllProcessInfo())
