"""supervisord with Airflow imported once: each Airflow component is a fork of it, not a new Python.

Why this module exists: the four Airflow components (api-server, scheduler, dag-processor,
triggerer) each started a fresh interpreter that imported Airflow, SQLAlchemy, FastAPI and
pydantic on its own: ~2.7 s of CPU and ~150 MiB of private heap apiece, four times at once on a
2-core laptop. Here the stack's supervisord runs as ``python -m opsbook.stack.zygote -c <conf>``:
before its main loop it imports those modules once (with the stack's Airflow environment,
``_AIRFLOW__AS_LIBRARY`` so no DB engine or logging is set up) and freezes them out of the
garbage collector (:func:`gc.freeze`). supervisord starts a program by ``fork`` + ``execve``;
for an Airflow component whose spec (:mod:`opsbook.stack.launch`) is the one imported for, the
child skips the ``execve`` and runs the component in the forked process instead. It shares the
imported pages with supervisord and the other components (copy on write) and starts with
Airflow already imported.

Nothing else changes: the pid supervisord tracks *is* the component (stop, start, ``kill -9``
drills, process groups, logs and exit codes are as before), its process title and environment
are the ones the ``execve`` would have given, and it initialises Airflow's settings itself.
The other executor mode's programs (Celery components and workers) and a green slot are forked
too: their specs differ only in variables the child may change
(:data:`opsbook.stack.import_time.MAY_DIFFER`), and the few of those Airflow keeps from import
time (``[core] parallelism`` as ``BaseExecutor``'s default, ``[api] port`` as the CLI's …) are
re-read in the child (:func:`opsbook.stack.import_time.refresh`). Any other difference, the
services, and every program when the import failed are exec'd as before. supervisord has no
preload hook and gunicorn's ``--preload`` only serves one WSGI app, so these lines are
hand-written; they patch only ``ServerOptions.execve``, the one call supervisord makes in the
child.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

import setproctitle

from opsbook import records
from opsbook.stack import import_time
from opsbook.stack.programs import airflow_argv, launch_argv

PRELOAD = (
    "airflow",
    "airflow.__main__",
    "airflow.cli.commands.scheduler_command",
    "airflow.cli.commands.api_server_command",
    "airflow.cli.commands.dag_processor_command",
    "airflow.cli.commands.triggerer_command",
    "airflow.jobs.scheduler_job_runner",
    "airflow.jobs.triggerer_job_runner",
    "airflow.dag_processing.manager",
    "airflow.api_fastapi.app",
    "airflow.api_fastapi.execution_api.app",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "uvicorn",
    "opsbook.airflow.lean_executor",
    "opsbook.airflow.lean_execution_api",
    # imported by all four components right after they start (measured: sys.modules of each
    # fork 25 s after `up`): HTTP, async SQLite; the execution API's routes by the api-server
    # and the dag-processor. Shared, not private: PSS 652 -> 608 MiB with the same start time
    # (docs/rendimiento.md). Not alembic: with `[database] check_migrations` off
    # (opsbook.airflow.env) no component imports it any more (measured the same way)
    "httpcore",
    "aiosqlite",
    "airflow.models.renderedtifields",
    "airflow.models.task_state_store",
    "airflow.models.dag_favorite",
    "airflow.utils.log.file_task_handler",
    "airflow.observability.metrics.statsd_logger",
    "airflow.sdk.bases.skipmixin",
    "airflow.api_fastapi.execution_api.routes",
)
"""Modules every component (or the tasks it forks) imports anyway: Airflow's CLI, the four
components' job runners, the API apps, the task runner, the course's executor and API, and
what two or more components import as they start."""

REFERENCE = "scheduler"
"""The program whose spec gives the environment the modules are imported with."""

START_ENV = ("MALLOC_ARENA_MAX", "PYTHONWARNINGS")
"""Variables read only when a process starts (glibc's malloc, Python's warning filters): a forked
component inherits supervisord's, so supervisord must start with the components' values."""

_STATE: dict = {"env": None, "spec_dir": None}


def preload(spec_dir: Path) -> dict | None:
    """Import :data:`PRELOAD` with the reference program's environment, then freeze the heap.

    ``os.environ`` is restored afterwards, so the services supervisord starts never see the
    Airflow secrets.

    Args:
        spec_dir: folder of the program specs (``var/run/programs``).

    Returns:
        The environment imported with (a fork is used only for a spec with this environment,
        up to :data:`opsbook.stack.import_time.MAY_DIFFER`), or None when there is no
        reference spec or an import failed.
    """
    (spec_dir.parent / "zygote.json").unlink(missing_ok=True)  # written again on success
    try:
        env = json.loads((spec_dir / f"{REFERENCE}.json").read_text())["env"]
    except (OSError, ValueError, KeyError):
        return None
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ["_AIRFLOW__AS_LIBRARY"] = "1"
    t0 = time.monotonic()
    try:
        for module in PRELOAD:
            importlib.import_module(module)
    except Exception:  # noqa: BLE001 - any failure: exec every program as before
        print("zygote: import fallido, cada programa se lanza con execve", file=sys.stderr)
        traceback.print_exc()
        return None
    finally:
        os.environ.clear()
        os.environ.update(saved)
    gc.collect()
    gc.freeze()
    info = {"modules": len(sys.modules), "import_seconds": round(time.monotonic() - t0, 2)}
    records.write_atomic(spec_dir.parent / "zygote.json", json.dumps(info))
    return env


def forkable(argv: list[str], env: dict | None, spec_dir: Path | None) -> dict | None:
    """The spec of a launch that can run in the forked child, or None to ``execve`` it.

    An Airflow component of this stack whose environment is the imported one, or differs only
    in :data:`opsbook.stack.import_time.MAY_DIFFER`, maybe behind ``nice -n N``. The spec is
    returned with ``argv`` without ``nice`` and ``nice`` set to ``N`` (0 without it).

    Args:
        argv: what supervisord is about to exec (``python -m opsbook.stack.launch <spec>``).
        env: the environment imported with (None: nothing was imported).
        spec_dir: folder of the specs; a spec elsewhere is never trusted.
    """
    if env is None or spec_dir is None or len(argv) != 4 or argv[:3] != launch_argv("")[:3]:
        return None
    path = Path(argv[3])
    if path.parent != spec_dir:
        return None
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    command, niceness = _without_nice(spec.get("argv") or [])
    if command[:3] != airflow_argv() or not isinstance(spec.get("env"), dict):
        return None
    if not import_time.may_fork(env, spec["env"]):
        return None
    return {**spec, "argv": command, "nice": niceness}


def _without_nice(command: list) -> tuple[list, int]:
    """``command`` without a leading ``nice -n N`` (a booting green slot), and ``N``.

    ``nice`` only lowers the priority and execs the rest; the forked child does the same with
    :func:`os.nice`.
    """
    if (len(command) > 3 and Path(str(command[0])).name == "nice" and command[1] == "-n"
            and str(command[2]).isdigit()):
        return command[3:], int(command[2])
    return command, 0


def fresh_stdio() -> None:
    """New ``sys.stdin``/``stdout``/``stderr`` on fds 0–2, as a new interpreter makes them.

    The inherited stream objects were made for what the fds were when supervisord started (a
    terminal, a file, ``/dev/null``) and keep what they learnt then: a Celery worker wrapping
    ``sys.stdout.buffer`` failed with "Illegal seek" on its pipe. Python's rules: stdout is
    line-buffered only on a terminal, stderr always; stderr escapes what it cannot encode.
    """
    # Kept, never flushed nor finalised: what supervisord left in their buffers is not the
    # program's, and a collected stream would close fds 0-2, now the program's pipes.
    _STATE["supervisord_stdio"] = (sys.stdin, sys.stdout, sys.stderr)
    encoding = sys.stdout.encoding
    sys.stdin = sys.__stdin__ = open(0, encoding=encoding, closefd=False)  # noqa: SIM115
    sys.stdout = sys.__stdout__ = open(1, "w", buffering=1 if os.isatty(1) else -1,  # noqa: SIM115
                                       encoding=encoding, closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, encoding=encoding,  # noqa: SIM115
                                       errors="backslashreplace", closefd=False)


def become(spec: dict, env: dict) -> None:
    """Turn this forked child of supervisord into the component of ``spec``.

    Sets the merged environment and re-reads the options Airflow kept while importing
    (:func:`opsbook.stack.import_time.refresh`); if they cannot take it, returns and the caller
    execs. Otherwise never returns: does what the ``execve`` of :mod:`opsbook.stack.launch`
    would have: default signal handlers, new standard streams on the program's pipes,
    ``sys.argv``/``sys.path[0]`` of ``python -m``, the same process title; then initialises
    Airflow's settings and runs the component through :mod:`opsbook.stack.quick_exit`, which
    ends the process with the component's exit code.

    Args:
        spec: the program spec (argv + environment).
        env: the environment supervisord passes to the ``execve``.
    """
    os.environ.clear()
    os.environ.update({**env, **spec["env"]})
    try:
        import_time.refresh()  # the options Airflow kept while importing, for this environment
    except Exception as exc:  # noqa: BLE001 - cannot take this environment: exec as before
        os.write(2, f"zygote: {exc!r}; se lanza con execve\n".encode())
        return
    code = 1
    try:
        gc.freeze()  # supervisord's objects stay untouched (their fds are closed here)
        for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP, signal.SIGCHLD,
                    signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        fresh_stdio()
        if spec.get("nice"):
            os.nice(spec["nice"])
        command = spec["argv"]
        sys.argv = [command[0], *command[3:]]
        sys.path[0:0] = [os.getcwd()]
        setproctitle.setproctitle(" ".join(command))
        from airflow import settings

        settings.initialize()
        from opsbook.stack import quick_exit

        quick_exit.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then leave like a failed exec would
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _execve(filename: str, argv: list[str], env: dict) -> None:
    """``ServerOptions.execve``: fork-run an Airflow component, ``execve`` anything else."""
    spec = forkable(list(argv), _STATE["env"], _STATE["spec_dir"])
    if spec is not None:
        become(spec, env)
    os.execve(filename, argv, env)


def main(argv: list[str] | None = None) -> None:
    """``python -m opsbook.stack.zygote --specs <dir> <supervisord args>``.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).
    """
    args = sys.argv[1:] if argv is None else argv
    # setproctitle finds the argv memory it overwrites once, and only while the C environment
    # still follows it: before preload() rewrites os.environ (then each child can retitle).
    setproctitle.getproctitle()
    if len(args) < 2 or args[0] != "--specs":
        raise SystemExit(
            "uso: python -m opsbook.stack.zygote --specs <carpeta> <args de supervisord>")
    spec_dir = Path(args[1]).resolve()
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # `-m` put the caller's folder first: import only installed code
    from supervisor import supervisord
    from supervisor.options import ServerOptions

    _STATE["spec_dir"] = spec_dir
    _STATE["env"] = preload(spec_dir)
    ServerOptions.execve = staticmethod(_execve)
    supervisord.main(args[2:])


if __name__ == "__main__":
    main()
