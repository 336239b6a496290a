"""Wait for the stack's components to become healthy, with a deadline and a progress display.

Why this module exists: "started" is not "healthy" (the api-server needs ~20 s, the scheduler
reports its heartbeat later); ``up`` polls real health until a deadline, shows progress with
``rich``, and fails fast with the tail of the log when a component dies instead of waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from opsbook.settings import Settings
from opsbook.stack.programs import Program
from opsbook.stack.state import StackError
from opsbook.waiting import WaitTimeout, wait_until

DEAD_STATES = {"FATAL", "EXITED", "STOPPED"}


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
            return wait_until(poll, timeout_s, 0.5, "la pila quede sana",
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
