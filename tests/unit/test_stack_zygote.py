"""The zygote supervisord forks an Airflow component only for a spec it can serve.

That is the spec it imported for, up to the variables a child re-reads
(``opsbook.stack.import_time``: the Celery mode, a green slot). Everything else (services,
another difference, a spec file outside the stack's folder) must go through the usual
``execve``. The live check that
the components really are forks sharing the imported pages is in
``tests/integration/test_stack.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from opsbook.stack import import_time, lifecycle, zygote
from opsbook.stack.programs import airflow_argv, launch_argv

pytestmark = pytest.mark.unit

ENV = {"AIRFLOW_HOME": "/tmp/af", "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
       "OPSBOOK_STACK_ID": "/tmp/var"}


def write_spec(folder: Path, name: str, argv: list[str], env: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"argv": argv, "env": env}))
    return path


def launch(path: Path) -> list[str]:
    return launch_argv(path)


def test_a_component_with_the_imported_environment_is_forked(tmp_path):
    path = write_spec(tmp_path, "scheduler", airflow_argv("scheduler"), ENV)
    spec = zygote.forkable(launch(path), ENV, tmp_path)
    assert spec is not None and spec["argv"][3] == "scheduler"


@pytest.mark.parametrize("change", [
    {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"},  # the Celery mode's overrides
    {"AIRFLOW__API__PORT": "8081", "OPSBOOK_RELEASE": "v2"},  # a green api-server
])
def test_the_other_mode_and_a_green_slot_are_forked_too(tmp_path, change):
    """They differ only in opsbook.stack.import_time.MAY_DIFFER, re-read in the child."""
    path = write_spec(tmp_path, "api-server", airflow_argv("api-server"), {**ENV, **change})
    assert zygote.forkable(launch(path), ENV, tmp_path) is not None


def test_a_green_slot_booting_behind_nice_is_forked_with_that_niceness(tmp_path):
    argv = ["/usr/bin/nice", "-n", "15", *airflow_argv("api-server", "--port", "8081")]
    path = write_spec(tmp_path, "api-server-green", argv,
                      {**ENV, "AIRFLOW__API__PORT": "8081", "OPSBOOK_RELEASE": "v2"})
    spec = zygote.forkable(launch(path), ENV, tmp_path)
    assert spec["nice"] == 15 and spec["argv"] == argv[3:]  # the title the exec would give
    plain = zygote.forkable(launch(write_spec(tmp_path, "scheduler", airflow_argv("scheduler"),
                                              ENV)), ENV, tmp_path)
    assert plain["nice"] == 0
    other = write_spec(tmp_path, "x", ["/usr/bin/nice", "-n", "15", "/usr/bin/prometheus"], ENV)
    assert zygote.forkable(launch(other), ENV, tmp_path) is None


@pytest.mark.parametrize("change", [
    {"AIRFLOW__CORE__DAGS_FOLDER": "/otra"},  # kept at import by settings.DAGS_FOLDER
    {"PYTHONPATH": "/otra"},
    {"OPSBOOK_STACK_ID": None},
])
def test_a_component_with_another_environment_is_execd(tmp_path, change):
    env = {k: v for k, v in {**ENV, **change}.items() if v is not None}
    path = write_spec(tmp_path, "api-server", airflow_argv("api-server"), env)
    assert zygote.forkable(launch(path), ENV, tmp_path) is None


def test_a_child_that_cannot_take_the_environment_is_execd(monkeypatch):
    def refuse():
        raise import_time.NotRefreshable("otra intercalación")

    monkeypatch.setattr(import_time, "refresh", refuse)
    monkeypatch.setattr(zygote.os, "environ", dict(os.environ))  # the child's, not ours
    written = []
    monkeypatch.setattr(zygote.os, "write", lambda fd, data: written.append((fd, data)))
    assert zygote.become({"argv": airflow_argv("scheduler"), "env": {"X": "1"}}, {}) is None
    assert written and written[0][0] == 2 and b"execve" in written[0][1]


def test_services_and_other_commands_are_execd(tmp_path):
    bridge = write_spec(tmp_path, "statsd-bridge",
                        [sys.executable, "-m", "opsbook.observability.statsd_bridge"], ENV)
    prom = write_spec(tmp_path, "prometheus", ["/usr/bin/prometheus"], ENV)
    other_python = write_spec(tmp_path, "scheduler",
                              ["/usr/bin/python3", "-m", "opsbook.stack.quick_exit", "scheduler"],
                              ENV)
    for path in (bridge, prom, other_python):
        assert zygote.forkable(launch(path), ENV, tmp_path) is None, path
    assert zygote.forkable(["/usr/bin/nginx", "-c", "x"], ENV, tmp_path) is None


def test_nothing_is_forked_without_a_preload_or_from_a_foreign_spec(tmp_path):
    path = write_spec(tmp_path / "elsewhere", "scheduler", airflow_argv("scheduler"), ENV)
    assert zygote.forkable(launch(path), ENV, tmp_path) is None  # not the stack's folder
    ours = write_spec(tmp_path, "scheduler", airflow_argv("scheduler"), ENV)
    assert zygote.forkable(launch(ours), None, tmp_path) is None  # the import failed
    (tmp_path / "roto.json").write_text("{no json")
    assert zygote.forkable(launch(tmp_path / "roto.json"), ENV, tmp_path) is None


@pytest.fixture
def no_freeze(monkeypatch):
    frozen = []
    monkeypatch.setattr(zygote.gc, "freeze", lambda: frozen.append(True))
    return frozen


def test_preload_imports_with_the_reference_environment_and_restores_os_environ(
        tmp_path, monkeypatch, no_freeze):
    seen = {}

    def fake_import(name):
        seen[name] = (os.environ.get("ZYGOTE_TEST"), os.environ.get("_AIRFLOW__AS_LIBRARY"))

    monkeypatch.setattr(zygote, "PRELOAD", ("uno", "dos"))
    monkeypatch.setattr(zygote.importlib, "import_module", fake_import)
    write_spec(tmp_path / "programs", zygote.REFERENCE, airflow_argv("scheduler"),
               {"ZYGOTE_TEST": "sí"})
    before = dict(os.environ)
    env = zygote.preload(tmp_path / "programs")
    assert env == {"ZYGOTE_TEST": "sí"}
    assert seen == {"uno": ("sí", "1"), "dos": ("sí", "1")}  # no Airflow settings/DB engine
    assert dict(os.environ) == before  # the services never see the Airflow environment
    assert no_freeze == [True]
    assert json.loads((tmp_path / "zygote.json").read_text())["import_seconds"] >= 0


def test_a_failed_preload_falls_back_to_execve(tmp_path, monkeypatch, no_freeze, capsys):
    def broken(name):
        raise ImportError(f"falta {name}")

    monkeypatch.setattr(zygote.importlib, "import_module", broken)
    assert zygote.preload(tmp_path) is None  # no reference spec yet
    write_spec(tmp_path, zygote.REFERENCE, airflow_argv("scheduler"), {"ZYGOTE_TEST": "1"})
    (tmp_path.parent / "zygote.json").write_text("{}")  # left by the previous supervisord
    before = dict(os.environ)
    assert zygote.preload(tmp_path) is None
    assert "execve" in capsys.readouterr().err
    assert not (tmp_path.parent / "zygote.json").exists()
    assert dict(os.environ) == before and not no_freeze


def test_the_stack_starts_supervisord_as_the_zygote(tmp_path, monkeypatch):
    import dataclasses

    from opsbook.airflow.env import airflow_env
    from opsbook.settings import settings

    cfg = dataclasses.replace(settings, var=tmp_path / "var")
    calls = []
    monkeypatch.setattr(lifecycle.subprocess, "run",
                        lambda argv, **kw: calls.append((argv, kw)))
    monkeypatch.setattr(lifecycle.sup, "is_running", lambda cfg: True)
    monkeypatch.setattr(lifecycle.sup, "supervisord_pid", lambda cfg: os.getpid())
    monkeypatch.setattr(lifecycle.started, "record", lambda pid, cfg: None)
    lifecycle._start_supervisord(cfg)
    (argv, kw), = calls
    assert argv[1:5] == ["-m", "opsbook.stack.zygote", "--specs",
                         str(lifecycle.sup.spec_dir(cfg))]
    assert argv[5:] == ["-c", str(lifecycle.sup.conf_path(cfg))]
    af = airflow_env(cfg)
    # read when a process starts: a forked component keeps supervisord's values
    assert all(kw["env"][k] == af[k] for k in zygote.START_ENV)
    assert not any(k.startswith("AIRFLOW__") for k in kw["env"] if k not in os.environ)


STDIO_PROBE = r"""
import io, os, sys
from opsbook.stack import zygote
read, write = os.pipe()
os.dup2(write, 1)  # what supervisord's fork does: fd 1 becomes the program's pipe
if sys.argv[1] == "fresh":
    zygote.fresh_stdio()
try:
    out = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)  # as a Celery worker does
    out.write("hola desde el programa\n")
    out.flush()
    os.close(1)
    os.close(write)
    os.write(2, os.read(read, 1000))
except OSError as exc:
    os.write(2, f"ERROR {exc}".encode())
"""


@pytest.mark.parametrize("mode", ["fresh", "inherited"])
def test_a_forked_program_gets_standard_streams_made_for_its_pipes(tmp_path, mode):
    started_on = tmp_path / "supervisord.out"  # a seekable file when supervisord started
    with started_on.open("w") as out:
        done = subprocess.run([sys.executable, "-c", STDIO_PROBE, mode], stdout=out,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    if mode == "fresh":
        assert done.stderr == "hola desde el programa\n", done.stderr
        assert started_on.read_text() == ""  # nothing went to supervisord's old stdout
    else:  # the failure fresh_stdio exists for
        assert "Illegal seek" in done.stderr


def test_supervisord_computes_nothing_from_its_own_environment_before_importing():
    """Only what is imported with the components' environment may be inherited: the course's
    settings (ports, folders) must not be read from the caller's environment by the zygote."""
    probe = ("import sys; import opsbook.stack.zygote; "
             "print(sorted(m for m in sys.modules if m.startswith(('opsbook.', 'airflow'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == ("['opsbook.records', 'opsbook.stack', "
                                   "'opsbook.stack.import_time', 'opsbook.stack.programs', "
                                   "'opsbook.stack.zygote']")
