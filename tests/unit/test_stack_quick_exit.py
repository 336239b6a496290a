"""Airflow components run through ``opsbook.stack.quick_exit``: same command, same exit code,
nothing of their output lost, and no interpreter teardown after Airflow is done."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opsbook.stack import celery_mode, components
from opsbook.stack.programs import airflow_argv
from opsbook.stack.quick_exit import exit_code

pytestmark = pytest.mark.unit


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opsbook.stack.quick_exit", *args],
                          capture_output=True, text=True, timeout=120)


def test_runs_the_airflow_command_and_flushes_its_piped_output():
    import airflow

    done = run("version")  # stdout is a pipe (block-buffered): os._exit alone would drop it
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == airflow.__version__


def test_keeps_airflows_exit_code_for_a_wrong_command():
    done = run("no-such-command")
    assert done.returncode == 2  # argparse's "invalid choice"
    assert "no-such-command" in done.stderr


@pytest.mark.parametrize(("value", "code"), [(None, 0), (0, 0), (3, 3), ("mensaje", 1)])
def test_exit_codes_follow_sys_exit(value, code, capsys):
    assert exit_code(value) == code
    assert ("mensaje" in capsys.readouterr().err) == (value == "mensaje")


def test_every_airflow_process_of_the_stack_starts_through_it():
    progs = [*components.airflow_programs(), celery_mode.worker_program(1)]
    for prog in progs:
        assert prog.command[:3] == airflow_argv()[:3], prog
        assert prog.command[1:3] == ["-m", "opsbook.stack.quick_exit"], prog
        assert prog.command[0].endswith("/python")
    assert [p.command[3] for p in progs] == [
        "api-server", "scheduler", "dag-processor", "triggerer", "celery"]
