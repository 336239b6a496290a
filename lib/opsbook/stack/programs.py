"""The description of one supervised process of the native stack.

Why this module exists: the stack supervisor (:mod:`opsbook.stack.lifecycle`), the Celery mode
(:mod:`opsbook.stack.celery_mode`) and the blue-green deploy all describe processes the same way
and hand them to one supervisord config generator. This module holds only that small,
dependency-free description so every layer can import it cheaply.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path


def airflow_argv(*args: str) -> list[str]:
    """``airflow <args>`` as the stack runs it: through :mod:`opsbook.stack.quick_exit`.

    Same command and exit code as the venv's ``airflow`` script, without the interpreter
    teardown after Airflow is done (~3.5 s of CPU for a stopped api-server).
    """
    return [str(Path(sys.executable).with_name("python")), "-m", "opsbook.stack.quick_exit",
            *args]


def launch_argv(spec: Path | str) -> list[str]:
    """How supervisord runs every program: :mod:`opsbook.stack.launch` on its JSON spec."""
    return [sys.executable, "-m", "opsbook.stack.launch", str(spec)]


@dataclass(frozen=True)
class Program:
    """One process run by supervisord.

    Attributes:
        name: supervisord program name (``api-server``, ``scheduler``, ``worker-1`` ...).
        command: argv of the process (absolute executable first); no shell is involved.
        env: environment variables merged over the base environment of the stack.
        autorestart: whether supervisord restarts it when it exits (False for Airflow
            components: day 3 drills a real outage).
        stopsignal: signal supervisord sends to stop it (``TERM``, ``INT``, ``QUIT`` ...).
        stopwaitsecs: seconds to wait after ``stopsignal`` before SIGKILL.
        port: TCP port it listens on, if any (reported by ``status``).
        health_url: URL that answers 2xx when the process is healthy, if any.
        startsecs: seconds it must stay up for supervisord to consider it started.
        directory: working directory (default: the repository root).
        optional: when True, a failing health check does not block ``up``.
    """

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    autorestart: bool = False
    stopsignal: str = "TERM"
    stopwaitsecs: int = 20
    port: int | None = None
    health_url: str | None = None
    startsecs: int = 1
    directory: str | None = None
    optional: bool = False
