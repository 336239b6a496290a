"""Wait for the stack's components to become healthy, with a deadline and a progress display.

Why this module exists: "started" is not "healthy" (the api-server needs ~20 s, the scheduler
reports its heartbeat later); ``up`` polls real health until a deadline, shows progress with
``rich``, and fails fast with the tail of the log when a component dies instead of waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from opsbook import loopback
from opsbook.settings import Settings
from opsbook.stack import health
from opsbook.stack.programs import Program
from opsbook.stack.state import StackError
from opsbook.waiting import WaitTimeout, wait_until

DEAD_STATES = {"FATAL", "EXITED", "STOPPED"}

HEALTH_POLL_S = 0.25
"""Interval of :func:`wait_healthy`'s polls. The last program to turn healthy is Airflow's, the
moment its api-server answers; a poll every 0.5 s added 0–0.5 s (0.25 on average) to every
start. One poll costs the CLI a few milliseconds."""

LISTEN_POLL_S = 0.05
"""Interval of :func:`warm_execution_api`'s check that the api-server accepts connections. A
refused ``connect`` on loopback costs microseconds; the request that follows (~0.5 s, it builds
the execution API) is on the start's critical path, so it should follow the listen at once."""


def log_tail(cfg: Settings, name: str, lines: int = 15) -> str:
    """Last ``lines`` lines of a program's log in ``var/log``."""
    path = cfg.log_dir / f"{name}.log"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(sin log)"


def wait_healthy(
    cfg: Settings,
    programs: list[Program],
    get_states: Callable[[], dict[str, dict]],
    get_health: Callable[[Settings], dict[str, bool]],
    timeout_s: float,
    progress: bool = True,
    first_healthy: dict[str, float] | None = None,
) -> dict[str, bool]:
    """Poll until every non-optional program is healthy.

    Args:
        cfg: the settings (locates the logs).
        programs: the programs to wait for.
        get_states: returns supervisord's process info per program.
        get_health: returns health per program name.
        timeout_s: deadline in seconds.
        progress: show a ``rich`` progress bar on stderr.
        first_healthy: when given, filled with program name → ``time.monotonic()`` of the
            first poll that saw it healthy (the start profile, see ``scripts/profile_stack.py``).

    Returns:
        The final health per program.

    Raises:
        StackError: a program without auto-restart died, or the deadline passed.
    """
    needed = [p for p in programs if not p.optional]
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    console = Console(stderr=True)
    pending: list[str] = []

    def poll() -> dict[str, bool]:
        """One look: update the bar; raise when a program died; return the health."""
        ok = get_health(cfg)
        good = [p.name for p in needed if ok.get(p.name)]
        if first_healthy is not None:
            seen = time.monotonic()
            for name in good:
                first_healthy.setdefault(name, seen)
        pending[:] = [p.name for p in needed if not ok.get(p.name)]
        desc = "pila sana" if not pending else "esperando: " + ", ".join(pending)
        bar.update(task, completed=len(good), description=desc)
        if pending:
            _raise_if_dead(cfg, needed, pending, get_states())
        return ok

    with Progress(*columns, console=console, disable=not progress, transient=False) as bar:
        task = bar.add_task("arrancando la pila", total=len(needed))
        try:
            return wait_until(poll, timeout_s, HEALTH_POLL_S, "la pila quede sana",
                              until=lambda ok: all(ok.get(p.name) for p in needed))
        except WaitTimeout:
            raise StackError(
                f"la pila no quedó sana en {timeout_s:.0f} s; pendientes: {', '.join(pending)}."
                f" Mira los logs en {cfg.log_dir} o amplía timeout_s"
            ) from None


def _raise_if_dead(cfg: Settings, needed: list[Program], pending: list[str],
                   now: dict[str, dict]) -> None:
    """Fail fast when a pending program died during the start (no point waiting for it)."""
    for prog in needed:
        state = now.get(prog.name, {}).get("statename", "")
        if prog.name in pending and state in DEAD_STATES and not prog.autorestart:
            raise StackError(
                f"'{prog.name}' terminó ({state}) durante el arranque; últimas líneas de "
                f"{cfg.log_dir / (prog.name + '.log')}:\n{log_tail(cfg, prog.name)}"
            )
        if prog.name in pending and state == "FATAL":
            raise StackError(
                f"'{prog.name}' no arranca (FATAL); mira "
                f"{cfg.log_dir / (prog.name + '.log')}:\n{log_tail(cfg, prog.name)}"
            )


def warm_execution_api(cfg: Settings, timeout_s: float = 120) -> float:
    """Call ``GET /execution/health`` once, as soon as the api-server listens.

    Its first call builds the execution API (0.4–0.7 s here), which a task's first call would pay
    otherwise. The call waits for the port to accept connections first, polled every
    :data:`LISTEN_POLL_S`, so it starts right after the listen instead of at the next 0.5 s
    tick (measured: 0.4 s after the listen on average, all of it on the start's critical path).

    Args:
        cfg: the settings (the api-server's port and URL).
        timeout_s: bound of the whole wait.

    Returns:
        Seconds from the call to the answer.

    Raises:
        StackError: the api-server did not listen or answer in time.
    """
    t0 = time.monotonic()
    url = f"{cfg.airflow_url}/execution/health"
    try:
        wait_until(lambda: health.tcp_ok(cfg.ports.airflow, timeout=1.0), timeout_s,
                   LISTEN_POLL_S, f"el api-server escuche en el puerto {cfg.ports.airflow}")
        left = max(5.0, timeout_s - (time.monotonic() - t0))
        wait_until(lambda: loopback.get(url, timeout=left).raise_for_status(), left, 0.5,
                   f"la API de ejecución responda en {url}", retry_on=(httpx.HTTPError,))
    except WaitTimeout:
        raise StackError(f"la API de ejecución no responde en {url}") from None
    return time.monotonic() - t0
