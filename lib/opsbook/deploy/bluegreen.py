"""Blue-green deploy of the Airflow api-server behind the nginx front door, in six logged steps.

Why this module exists: the syllabus's ``deploy-zero-downtime.sh`` listed six steps; here they
happen for real. The stack has two api-server *slots*: ``blue`` (program ``api-server`` on
``ports.airflow``) and ``green`` (``api-server-green`` on ``ports.airflow_green``); in Celery
mode each slot also has its own scheduler (several schedulers share PostgreSQL safely; what a
slot runs lives in :mod:`opsbook.deploy.slots`). A deploy starts the idle slot with the new
release, checks its health, smoke-tests it (API lists the DAGs, a smoke DAG run succeeds) and
warms its execution API (a cold api-server blocks ~7 s on its first ``/execution`` request),
then rewrites the front door's upstream (``nginx -t`` +
``nginx -s reload``: graceful, in-flight requests finish on the old workers), waits for the old
nginx workers to drain, and retires the old slot. Any failure before the switch stops the new
slot and leaves the old one serving, saying why. Step 1 checks that the new release's customer
schema and the deployed one's read each other's data and a release with code commits its DAGs
to the versioned git bundle and smoke-tests them (:mod:`opsbook.deploy.shipping`). Every step
is logged with a timestamp to ``evidencia/dia_4/deploy_zero_downtime_dia4.txt``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psutil

from opsbook.airflow.paths import health_url as airflow_health_url
from opsbook.deploy import shipping
from opsbook.deploy.slots import (
    active_slot,
    apply_slots,
    live_programs,
    mode_of,
    running_states,
    slot_port,
    slot_programs,
    slot_url,
)
from opsbook.records import json_key
from opsbook.settings import Settings, settings
from opsbook.stack import service_configs as fd
from opsbook.stack.health import airflow_health, http_ok
from opsbook.stack.programs import Program
from opsbook.waiting import WaitTimeout, wait_until

LOG_NAME = "deploy_zero_downtime_dia4.txt"
STEPS = (
    "compatibilidad de datos",
    "arrancar la versión nueva",
    "health checks",
    "smoke tests y calentamiento",
    "cambio de tráfico en la puerta de entrada",
    "drenar y retirar la versión anterior",
)


NEW_SLOT_NICE = 15
"""CPU niceness of the new slot while it boots: the serving slot keeps the CPU (2 cores)."""


@dataclass
class DeployResult:
    """Outcome of one blue-green deploy (JSON keys: ``from`` and ``to`` for the slots).

    ``ok`` False means the previous slot still serves; ``failed_step`` (1-6) and ``reason``
    say why. ``steps`` holds ``{"step", "name", "seconds", "detail"}`` of each step that
    finished; ``log`` is the path of the written deploy log; ``skipped`` is True when
    :func:`ensure_blue` found blue already serving and did nothing.
    """

    ok: bool
    release: str
    from_slot: str = field(default="", metadata=json_key("from"))
    to_slot: str = field(default="", metadata=json_key("to"))
    failed_step: int | None = None
    reason: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    log: str | None = None
    skipped: bool = False
    code: dict[str, str] | None = None
    """Version and bundle commit of the DAG code the release shipped (None: no code)."""


class DeployError(RuntimeError):
    """A deploy step failed; the previous version keeps serving."""


class DeployLog:
    """Timestamped step log printed live and appended to the day-4 evidence file."""

    def __init__(self, title: str, echo: Callable[[str], None] | None = print) -> None:
        self.lines = [f"=== {title} ==="]
        self.echo = echo
        self.steps: list[dict] = []
        if echo:
            echo(self.lines[0])

    def write(self, text: str) -> None:
        """Add one timestamped line."""
        line = f"{datetime.now(UTC).isoformat(timespec='milliseconds')} {text}"
        self.lines.append(line)
        if self.echo:
            self.echo(line)

    def save(self) -> str:
        """Append this deploy to the evidence file; returns its path."""
        from opsbook import evidence

        path = evidence.day_dir(4) / LOG_NAME
        before = path.read_text(encoding="utf-8") if path.exists() else ""
        text = before + "\n".join(self.lines) + "\n\n"
        return str(evidence.save_text(4, LOG_NAME, text, "Registro de despliegues blue-green"))


def _unhealthy(url: str) -> dict[str, str | None] | str:
    """Components of ``url``'s health JSON that are not healthy (``{}``: all are)."""
    body = airflow_health(url=url)
    if body is None:
        return "sin respuesta"
    return {k: v.get("status") for k, v in body.items()
            if isinstance(v, dict) and v.get("status") not in ("healthy", None)}


def _health(url: str, cfg: Settings, timeout_s: float) -> str:
    try:
        wait_until(lambda: _unhealthy(url), timeout_s, 1.0, f"{url} esté sano",
                   until=lambda bad: bad == {})
    except TimeoutError as exc:
        raise DeployError(str(exc)) from None
    if mode_of(cfg).get("executor") == "celery":
        from opsbook.stack.celery_mode import worker_ping

        pong = worker_ping(cfg)
        if not pong or not all(pong.values()):
            raise DeployError(f"ningún worker Celery responde al ping ({pong})")
        return f"api sana; workers {sorted(pong)}"
    return "api sana"


def _smoke(url: str, cfg: Settings, smoke_dag: str, timeout_s: float,
           app: shipping.AppRelease | None = None, sha: str = "") -> str:
    from opsbook import loopback
    from opsbook.airflow.dagruns import DagRunClient

    t0 = time.monotonic()
    # Warm first: a cold api-server builds its execution API on the first request (~7 s).
    loopback.get(f"{url}/execution/health", timeout=timeout_s).raise_for_status()
    warm_s = time.monotonic() - t0
    if app is not None:  # a release with code: its own DAG must answer with the new version
        done = shipping.smoke(url, app, sha, cfg, timeout_s)
        return f"{done}; API de ejecución caliente ({warm_s:.1f} s)"
    client = DagRunClient(url, cfg=cfg, timeout_s=min(120.0, timeout_s))
    try:
        dags = client.dag_ids()
        if smoke_dag not in dags:
            raise DeployError(f"la API de la versión nueva no lista el DAG '{smoke_dag}' ({dags})")
        run = client.wait(smoke_dag, client.trigger(smoke_dag), timeout_s)
    finally:
        client.close()
    if run["state"] != "success":
        raise DeployError(f"el DAG de humo '{smoke_dag}' terminó en '{run['state']}'")
    return (f"{len(dags)} DAGs listados; {smoke_dag} success; "
            f"API de ejecución caliente ({warm_s:.1f} s)")


def _drain(old_workers: set[int], timeout_s: float) -> str:
    """Wait until nginx's pre-switch workers finished their in-flight requests and exited."""
    left = fd.front_door_drained(old_workers, timeout_s)
    if not left:
        return (f"nginx sin workers antiguos ({len(old_workers)} drenados): conexiones en "
                "vuelo terminadas")
    return f"{len(left)} workers antiguos aún drenando (se dejan terminar solos)"


def deploy(
    release: str,
    cfg: Settings = settings,
    smoke_dag: str = "smoke",
    green_env: dict[str, str] | None = None,
    on_step: Callable[[int, str], None] | None = None,
    echo: Callable[[str], None] | None = print,
    timeout_s: float = 600.0,
) -> DeployResult:
    """Deploy ``release`` to the idle slot and move the traffic to it (blue-green).

    A label of :data:`opsbook.deploy.shipping.RELEASES` (``v1``, ``v2``, ``v3``) ships code:
    step 1 checks its schema against the deployed release's, step 2 commits its DAG code to the
    git bundle (Celery mode), step 4 runs that DAG on the new slot; a failure before the
    switch puts the previous release's code back. Any other label redeploys the same code.

    Args:
        release: label of the new version (exported as ``OPSBOOK_RELEASE``).
        cfg: settings.
        smoke_dag: DAG the smoke test triggers on the new slot.
        green_env: extra environment for the new slot (tests inject a broken release here).
        on_step: called with (step number, name) when each step starts (load-chart marks).
        echo: where live log lines go (None: quiet).
        timeout_s: deadline of each of the start, health and smoke steps.

    Returns:
        The :class:`DeployResult`; ``ok`` False means the previous slot still serves.
    """
    old = active_slot(cfg)
    new = "green" if old == "blue" else "blue"
    log = DeployLog(f"despliegue blue-green de '{release}': {old} → {new}", echo)
    result = DeployResult(ok=False, release=release, from_slot=old, to_slot=new)
    old_progs = live_programs(old, cfg)
    # The new slot boots at low CPU priority so the serving slot keeps answering; it is
    # reniced to 0 once smoke-tested, just before it takes the traffic.
    new_progs = [dataclasses.replace(p, env={**p.env, **(green_env or {})},
                                     command=[_nice(), "-n", str(NEW_SLOT_NICE), *p.command])
                 for p in slot_programs(new, cfg, release)]
    switched = False
    draining: set[int] = set()  # nginx workers that served before the switch
    app, previous = shipping.release_for(release), shipping.deployed(cfg)

    def start() -> str:
        if app is not None:
            if mode_of(cfg).get("executor") != "celery":
                raise DeployError("el código de una release se publica en el bundle git, que "
                                  "solo existe en modo Celery (opsbook stack up --executor celery)")
            result.code = {"version": app.version, "sha": shipping.install(app, cfg)}
        started = _start(new_progs, old_progs, old, new, cfg, timeout_s)
        return started + (f"; código {app.version} en el commit {result.code['sha'][:8]}"
                          if result.code else "")

    actions: list[Callable[[], str]] = [
        lambda: shipping.check_upgrade(app, cfg),
        start,
        lambda: _health(slot_url(new, cfg), cfg, timeout_s),
        lambda: _smoke(slot_url(new, cfg), cfg, smoke_dag, timeout_s, app,
                       (result.code or {}).get("sha", "")),
        lambda: _switch(new, new_progs, cfg, draining),
        lambda: _retire(new_progs, old_progs, new, cfg, draining),
    ]
    for number, (name, action) in enumerate(zip(STEPS, actions, strict=True), start=1):
        if on_step:
            on_step(number, name)
        log.write(f"[paso {number}/6] {name} ...")
        t0 = time.monotonic()
        try:
            detail = action()
        except Exception as exc:  # noqa: BLE001 - every failure must roll back
            reason = f"{type(exc).__name__}: {exc}"
            log.write(f"[paso {number}/6] FALLO: {reason}")
            result.failed_step, result.reason = number, reason
            if not switched:
                log.write(f"[rollback] {_rollback(old_progs, old, cfg)}")
                if result.code:
                    sha = shipping.install(previous, cfg)
                    log.write(f"[rollback] código {previous.version} de vuelta ({sha[:8]})")
            break
        seconds = time.monotonic() - t0
        result.steps.append({"step": number, "name": name, "seconds": round(seconds, 2),
                                "detail": detail})
        log.write(f"[paso {number}/6] OK en {seconds:.1f} s: {detail}")
        switched = switched or number == 5
    else:
        result.ok = True
        log.write(f"despliegue completado: '{release}' sirve en {new} ({slot_url(new, cfg)})")
    result.log = log.save()
    return result


def _start(new_progs: list[Program], old_progs: list[Program], old: str, new: str,
           cfg: Settings, timeout_s: float) -> str:

    from opsbook.stack import supervisor_conf as sup

    apply_slots({old: old_progs, new: new_progs}, cfg)
    rpc = sup.rpc(cfg)
    for prog in new_progs:
        sup.start_process(rpc, prog.name)
    url = airflow_health_url(slot_url(new, cfg))

    def answering() -> bool:
        dead = [p.name for p in new_progs
                if running_states(cfg).get(p.name) in ("EXITED", "FATAL", "BACKOFF", "STOPPED")]
        if dead:  # a release that cannot even boot: fail now, not at the deadline
            raise DeployError(f"{', '.join(dead)} terminó al arrancar: mira "
                              f"{cfg.log_dir / (dead[0] + '.log')}")
        return http_ok(url)

    try:
        wait_until(answering, timeout_s, 0.5, f"{new} responda en {url}")
    except WaitTimeout as exc:
        raise DeployError(f"{exc}: mira {cfg.log_dir}") from None
    return f"{', '.join(p.name for p in new_progs)} escuchando en {slot_url(new, cfg)}"


def _nice() -> str:
    import shutil

    return shutil.which("nice") or "/usr/bin/nice"


def _renice(progs: list[Program], cfg: Settings, nice: int = 0) -> int:
    """Set the CPU niceness of a slot's processes; returns how many changed.

    Args:
        progs: the slot's programs.
        cfg: settings.
        nice: 0 for the slot about to serve; high for a slot being retired.
    """
    from opsbook.stack import supervisor_conf as sup

    changed = 0
    for prog in progs:
        pid = sup.rpc(cfg).supervisor.getProcessInfo(prog.name)["pid"]
        if not pid:
            continue
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                proc.nice(nice)
                changed += 1
            except psutil.Error:
                pass  # not root: lowering niceness is not allowed; the slot still serves
    return changed


def _switch(new: str, new_progs: list[Program], cfg: Settings, draining: set[int]) -> str:
    reniced = _renice(new_progs, cfg)
    previous = fd.front_door_port(cfg)
    fd.front_door_upstream(slot_port(new, cfg), cfg)
    try:
        draining |= fd.reload_front_door(cfg)
    except Exception:
        fd.front_door_upstream(previous or cfg.ports.airflow, cfg)
        raise
    if not http_ok(airflow_health_url(cfg.front_door_url), timeout=5):
        raise DeployError("la puerta de entrada no responde tras el cambio")
    return (f"prioridad normal para {reniced} procesos; nginx -t OK, nginx -s reload: "
            f"{cfg.front_door_url} → {slot_url(new, cfg)}")


def _retire(new_progs: list[Program], old_progs: list[Program], new: str,
            cfg: Settings, draining: set[int]) -> str:
    _renice(old_progs, cfg, 19)  # its last requests and shutdown must not slow the new slot
    # the pre-switch nginx workers may still send requests to the old slot: wait for them
    drained = _drain(draining, timeout_s=30)
    apply_slots({new: new_progs}, cfg)  # stops the old slot's programs (SIGTERM, graceful)
    return f"{drained}; versión anterior parada y retirada"


def _rollback(old_progs: list[Program], old: str, cfg: Settings) -> str:
    try:
        if fd.front_door_port(cfg) != slot_port(old, cfg):
            fd.front_door_upstream(slot_port(old, cfg), cfg)
            fd.reload_front_door(cfg)
        apply_slots({old: old_progs}, cfg)
    except Exception as exc:  # noqa: BLE001 - report, never mask the original failure
        return f"rollback incompleto: {exc}"
    serving = http_ok(airflow_health_url(cfg.front_door_url), timeout=5)
    return (f"versión nueva parada; {old} sigue sirviendo en {slot_url(old, cfg)}"
            f" (puerta de entrada {'OK' if serving else 'SIN RESPUESTA'})")


def ensure_blue(cfg: Settings = settings,
                echo: Callable[[str], None] | None = print) -> DeployResult:
    """Bring the traffic back to the blue slot (a deploy to blue) when green serves.

    Returns:
        The deploy result, or one with ``skipped`` True when blue already serves.
    """
    if active_slot(cfg) == "blue" and "api-server-green" not in running_states(cfg):
        return DeployResult(ok=True, release="restauracion-blue", from_slot="blue",
                            to_slot="blue", skipped=True)
    return deploy("restauracion-blue", cfg, echo=echo)
