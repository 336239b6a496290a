"""``stack down`` ends only what the stack started, never what merely names its ``var/``.

The sweep once killed every process whose command line held a path under the project's
``var/`` — a student's ``tail -f var/log/...`` or a shell in ``var/`` went with the stack.
Here a fake stack records a supervisord (its own session) that leaves an orphan behind, and
processes that name, open or sit in ``var/`` run beside it: ``down`` must reap the orphan and
leave every other one running.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import psutil
import pytest
from opsbook.settings import settings
from opsbook.stack import control, started
from opsbook.waiting import wait_until

pytestmark = pytest.mark.unit

SLEEPER = "import time; time.sleep(120)"
FAKE_SUPERVISORD = ("import subprocess, sys, time; "
                    f"c = subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); "
                    "print(c.pid, flush=True); time.sleep(120)")


def test_processes_naming_var_survive_down_and_the_real_orphan_does_not(tmp_path):
    var = tmp_path / "var"
    (var / "log").mkdir(parents=True)
    log = var / "log" / "scheduler.log"
    log.write_text("línea\n")
    cfg = dataclasses.replace(settings, var=var)
    fake = subprocess.Popen([sys.executable, "-c", FAKE_SUPERVISORD], stdout=subprocess.PIPE,
                            start_new_session=True)
    orphan = psutil.Process(int(fake.stdout.readline()))
    started.record(fake.pid, cfg)
    fake.kill()
    fake.wait()
    bystanders = [
        subprocess.Popen([shutil.which("tail") or "tail", "-f", str(log)]),
        subprocess.Popen([sys.executable, "-c", SLEEPER, str(var), f"--db={var}/airflow.db"]),
        subprocess.Popen([sys.executable, "-c", SLEEPER], cwd=var),
        subprocess.Popen([sys.executable, "-c", SLEEPER, str(var)], start_new_session=True),
        subprocess.Popen([sys.executable, "-c", SLEEPER],
                         env={"OPSBOOK_VAR_DIR": str(var), "OPSBOOK_ROOT": str(tmp_path)}),
    ]
    try:
        result = control.down(cfg, timeout_s=10)
        assert [o["pid"] for o in result["strays"]] == [orphan.pid]
        wait_until(lambda: not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE,
                   timeout=10, interval=0.1, what="que el huérfano de la pila termine")
        alive = [p.pid for p in bystanders if p.poll() is None]
        assert alive == [p.pid for p in bystanders], "down terminó un proceso ajeno a la pila"
    finally:
        for proc in bystanders:
            proc.kill()
            proc.wait()
        try:
            orphan.kill()
        except psutil.NoSuchProcess:
            pass
