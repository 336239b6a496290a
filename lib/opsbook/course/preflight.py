"""Preflight of a course day: is everything the day needs there, and if not, which command fixes it.

Why this module exists: with the stack down, day 1 used to run for 19 s and then fail deep in
urllib with ``Connection refused``, naming neither the cause nor the fix. The first code cell
of every day notebook is ``preparar(dia=N)``; ``opsbook notebooks run`` runs the same check once
before any notebook starts. It probes, in parallel and with short timeouts, what the day needs:
an up-to-date ``make setup``, every component of the stack answering its health endpoint
(:mod:`opsbook.stack.health`), PostgreSQL and Redis on day 4, Chromium where screenshots are
taken (a warning: the day still runs without it), free disk. When something is missing it stops
with one Spanish sentence naming the command that fixes it.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from opsbook.course import cell_log
from opsbook.errors import StudentError
from opsbook.settings import Settings, settings
from opsbook.stack import health
from opsbook.stack.components import airflow_programs, service_programs

DAY_NEEDS: dict[int, frozenset[str]] = {
    1: frozenset({"setup", "stack", "disk"}),
    2: frozenset({"setup", "stack", "disk", "chromium"}),
    3: frozenset({"setup", "stack", "disk"}),
    4: frozenset({"setup", "stack", "disk", "postgres", "redis"}),
    5: frozenset({"setup", "disk"}),
}
"""What each course day needs (day 5 works from the week's evidence, without the stack)."""

MIN_FREE_BYTES = 1 << 30
"""Free disk under ``var/`` below which a day refuses to start (logs, DBs, evidence)."""

PROBE_TIMEOUT_S = 1.5
"""Timeout of every health probe; the probes run in parallel."""

AIRFLOW_PARTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")
"""Keys of Airflow's health JSON (:func:`opsbook.stack.health.airflow_health`) that must say
``healthy``."""


class PreflightError(StudentError):
    """A course day cannot start; the message names the command that fixes it."""


@dataclass(frozen=True)
class Check:
    """One thing a day needs.

    Attributes:
        name: what was checked (``stack``, ``postgres``, ``disk`` …).
        ok: whether it is there.
        detail: Spanish sentence; when not ok, it ends with the command that fixes it.
        blocking: False for what the day can do without (it only warns).
    """

    name: str
    ok: bool
    detail: str
    blocking: bool = True


@dataclass
class Preflight:
    """Result of the preflight of one or more days.

    Attributes:
        days: the days checked.
        checks: every check, in the order the fixes should be applied.
        seconds: wall time of the whole preflight.
    """

    days: tuple[int, ...]
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every blocking check passed."""
        return not self.failures

    @property
    def failures(self) -> list[Check]:
        """Blocking checks that failed."""
        return [c for c in self.checks if c.blocking and not c.ok]

    @property
    def warnings(self) -> list[Check]:
        """Non-blocking checks that failed."""
        return [c for c in self.checks if not c.blocking and not c.ok]

    def message(self) -> str:
        """The one sentence to show: the first failure (fixes are ordered), or a summary."""
        if self.failures:
            return self.failures[0].detail
        names = ", ".join(c.name for c in self.checks if c.ok)
        days = "/".join(map(str, self.days))
        return f"Todo listo para el día {days} ({names}) en {self.seconds:.2f} s."


def _lock_stamp(root: Path) -> str:
    """The stamp ``make setup`` writes to ``.venv/.opsbook-lock`` (same recipe as bootstrap.sh)."""
    lines = "".join(f"{hashlib.sha256((root / n).read_bytes()).hexdigest()}  {n}\n"
                    for n in ("requirements.txt", "pyproject.toml"))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


def check_setup(cfg: Settings = settings) -> Check:
    """The venv matches the lock and the secrets exist (what ``make setup`` leaves behind)."""
    try:
        stale = (cfg.root / ".venv" / ".opsbook-lock").read_text().strip() != _lock_stamp(cfg.root)
    except OSError:
        stale = True
    secrets = cfg.secrets_dir
    if stale or not secrets.is_dir() or not any(secrets.iterdir()):
        why = "el entorno no coincide con requirements.txt" if stale else "faltan los secretos"
        return Check("setup", False, f"El entorno del curso no está preparado ({why}): "
                                     "ejecuta `make setup`.")
    return Check("setup", True, "entorno preparado")


def _airflow_down(cfg: Settings) -> list[str]:
    body = health.airflow_health(cfg, timeout=PROBE_TIMEOUT_S)
    if body is None:
        return ["api-server"]
    return [part for part in AIRFLOW_PARTS if (body.get(part) or {}).get("status") != "healthy"]


def check_stack(cfg: Settings = settings) -> Check:
    """Every component answers its health endpoint (probed in parallel)."""
    probes = [p for p in service_programs(cfg) if p.health_url]
    names = [p.name for p in probes] + ["airflow"]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = [pool.submit(health.http_ok, p.health_url, PROBE_TIMEOUT_S) for p in probes]
        airflow = pool.submit(_airflow_down, cfg)
        down = [name for name, fut in zip(names, futures, strict=False) if not fut.result()]
        down += airflow.result()
    if down:
        return Check("stack", False, f"El stack no está sano (no responde: {', '.join(down)}; "
                                     f"Airflow en {cfg.airflow_url}): arráncalo con "
                                     "`make stack-up` y vuelve a intentarlo.")
    return Check("stack", True, f"stack sano ({len(probes) + len(airflow_programs(cfg))} "
                                "componentes)")


def check_tcp(name: str, port: int, fix: str) -> Check:
    """A service outside the stack (PostgreSQL, Redis) accepts connections on ``port``."""
    if health.tcp_ok(port, timeout=PROBE_TIMEOUT_S):
        return Check(name.lower(), True, f"{name} responde en :{port}")
    return Check(name.lower(), False, f"{name} no responde en 127.0.0.1:{port} y el día 4 lo "
                                      f"necesita para el modo Celery: arráncalo con `{fix}`.")


def check_chromium() -> Check:
    """Chromium is installed (screenshots are skipped, with a note, without it)."""
    if any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
        return Check("chromium", True, "Chromium instalado", blocking=False)
    return Check("chromium", False, "Chromium no está instalado: las capturas se omitirán "
                                    "(`make setup` lo instala salvo con OPSBOOK_MINIMAL=1).",
                 blocking=False)


def check_disk(cfg: Settings = settings, min_free: int = MIN_FREE_BYTES) -> Check:
    """At least ``min_free`` bytes free where the stack writes (``var/``)."""
    where = cfg.var if cfg.var.exists() else cfg.root
    free = shutil.disk_usage(where).free
    if free < min_free:
        return Check("disk", False, f"Solo quedan {free / 2**20:.0f} MiB libres en {where} "
                                    f"(hacen falta {min_free / 2**30:.0f} GiB): libera espacio, "
                                    "p. ej. con `make clean` (borra var/ y la evidencia generada).")
    return Check("disk", True, f"{free / 2**30:.1f} GiB libres")


POSTGRES_FIX = "sudo pg_ctlcluster 15 main start"
REDIS_FIX = "redis-server --daemonize yes --bind 127.0.0.1"


def check(days: int | list[int] | tuple[int, ...], cfg: Settings = settings) -> Preflight:
    """Run every check the given days need, in fix order (setup → stack → services → disk).

    Args:
        days: one course day or several (``opsbook notebooks run`` checks all it will run).
        cfg: settings giving ports and paths.

    Returns:
        The :class:`Preflight` (never raises for a failed check).

    Raises:
        ValueError: a day outside 1..5.
    """
    days = (days,) if isinstance(days, int) else tuple(days)
    bad = [d for d in days if d not in DAY_NEEDS]
    if bad:
        raise ValueError(f"día {bad[0]!r} desconocido: usa un día del 1 al 5")
    needs = frozenset().union(*(DAY_NEEDS[d] for d in days))
    start = time.perf_counter()
    result = Preflight(days)
    steps = [
        ("setup", lambda: check_setup(cfg)),
        ("stack", lambda: check_stack(cfg)),
        ("postgres", lambda: check_tcp("PostgreSQL", cfg.ports.postgres, POSTGRES_FIX)),
        ("redis", lambda: check_tcp("Redis", cfg.ports.redis, REDIS_FIX)),
        ("disk", lambda: check_disk(cfg)),
        ("chromium", check_chromium),
    ]
    result.checks = [run() for name, run in steps if name in needs]
    result.seconds = round(time.perf_counter() - start, 2)
    return result


def require(days: int | list[int] | tuple[int, ...], cfg: Settings = settings) -> Preflight:
    """Like :func:`check`, but raise when a blocking check fails.

    Raises:
        PreflightError: the message is the first failure's sentence (names its fix).
    """
    result = check(days, cfg)
    if not result.ok:
        raise PreflightError(result.message())
    return result


def preparar(dia: int) -> None:
    """First code cell of day ``dia``: stop at once, naming the fix, if the day cannot run.

    Prints one line when everything is there (plus any warning).

    Args:
        dia: course day (1..5).

    Raises:
        PreflightError: something the day needs is missing; the message says which command
            fixes it (``make stack-up``, ``make setup`` …).
    """
    result = require(dia)
    cell_log.start()
    print(f"✔ {result.message()}")
    for warn in result.warnings:
        print(f"⚠ {warn.detail}")
