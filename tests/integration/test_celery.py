"""Celery-mode commands against the default (LocalExecutor) stack: no mode switch here.

The day-4 notebook (run by nbval in ``make test``) switches the stack to Celery mode and back
once and asserts the rest live: 2 workers answer the ping and listen only on loopback, a
worker retired with ``opsbook stack scale`` finishes its tasks (warm shutdown), a ``kill -9``
is survived with no task succeeding twice, the fan-out runs green with 2×2 and 1×8 slots, the
GitDagBundle pins a running run, and the switch back leaves no Celery program or process.
Switching modes costs ~1 min each way, so this module does not pay for it a second time: it
checks what the notebook never does, the commands' answers when the stack is not in Celery mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack

OPSBOOK = str(Path(sys.executable).with_name("opsbook"))


def _opsbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([OPSBOOK, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


@pytest.fixture(scope="module")
def local_stack(live_stack):
    from opsbook.stack.state import read_mode

    assert read_mode(live_stack).get("executor") == "local"
    return live_stack


def test_stack_scale_refuses_outside_celery_mode_and_says_how_to_switch(local_stack):
    from opsbook.stack.state import read_mode

    before = read_mode(local_stack)["programs"]
    done = _opsbook("stack", "scale", "--workers", "2")
    assert done.returncode == 1
    assert "no está en modo celery" in done.stderr and "--executor celery" in done.stderr
    assert read_mode(local_stack)["programs"] == before  # nothing was re-planned


def test_workers_command_reports_no_celery_worker_in_local_mode(local_stack):
    done = _opsbook("workers", "--json")
    assert done.returncode == 1 and json.loads(done.stdout) == {}
