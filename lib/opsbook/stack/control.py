"""Stop the whole stack, report its status, and stop/start single components.

Why this module exists: ``down`` must leave **no process behind** (verified by pid, children
included, stragglers killed and reported), and the day-3 drills stop and start single
components (``stop_component("scheduler")``) to cause and repair real outages.
"""

from __future__ import annotations

import time
import xmlrpc.client

import psutil

from opsbook import loopback
from opsbook.settings import Settings, settings
from opsbook.stack import fresh_start, health, reaper, started
from opsbook.stack import supervisor_conf as sup
from opsbook.stack.state import (
    StackError,
    component_health,
    is_healthy,
    read_mode,
    recorded_programs,
    states,
)
from opsbook.waiting import WaitTimeout, wait_until


def _describe(procs: list[psutil.Process]) -> list[dict]:
    out = []
    for proc in procs:
        try:
            out.append({"pid": proc.pid, "cmd": " ".join(proc.cmdline())[:160]})
        except psutil.Error:
            out.append({"pid": proc.pid, "cmd": "?"})
    return out


def down(cfg: Settings = settings, timeout_s: float = 60.0, strict: bool = True) -> dict:
    """Stop every program and supervisord, sweep the strays, verify by pid that nothing survived.

    The StatsD bridge stops first and Prometheus gets one failed scrape of it, so the old
    stack's counters end with staleness markers instead of haunting the next ``up``
    (:func:`opsbook.stack.fresh_start.mark_bridge_series_stale`).

    Strays are processes this stack started that supervisord does not know (children
    re-parented to init after a ``kill -9``; see :func:`opsbook.stack.health.stray_processes`):
    they are reaped by pid and start time (SIGTERM, SIGKILL after a grace) and reported. A
    process that only names a file under ``var/`` is never touched.

    Args:
        cfg: the settings.
        timeout_s: seconds to wait for a graceful stop before killing stragglers.
        strict: raise when a process survives even SIGKILL.

    Returns:
        ``{"stopped": n, "killed": [{pid, cmd}...], "survivors": [{pid, cmd}...],
        "strays": [{pid, cmd, reason}...], "series_marked_stale": bool}``.

    Raises:
        StackError: (``strict``) a process of the stack is still alive at the end.
    """
    marked = None
    if states(cfg).get("statsd-bridge", {}).get("statename") == "RUNNING":
        marked = fresh_start.mark_bridge_series_stale(
            lambda: stop_component("statsd-bridge", cfg), cfg)
    swept = sweep_strays(cfg)
    procs = health.stack_processes(cfg)  # a stray that survived the sweep is retried below
    if sup.is_running(cfg):
        try:
            proxy = sup.rpc(cfg, timeout=timeout_s)
            # together, the API last: a task in flight reports its end instead of hanging
            sup.stop_groups(proxy, [p["group"] for p in proxy.supervisor.getAllProcessInfo()],
                            timeout_s)
        except (OSError, xmlrpc.client.Error, RuntimeError):
            pass  # verified below by pid either way
        try:
            sup.rpc(cfg, timeout=timeout_s).supervisor.shutdown()
        except (OSError, xmlrpc.client.Error):
            pass
    known = {p.pid: p for p in procs}
    for proc in health.stack_processes(cfg):  # children spawned while stopping
        known.setdefault(proc.pid, proc)
    _, alive = psutil.wait_procs(list(known.values()), timeout=timeout_s)
    killed = _describe(alive)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    _, survivors = psutil.wait_procs(alive, timeout=10)
    survivors += [p for p in health.stack_processes(cfg) if p.pid not in known]
    if not survivors:
        for stale in (sup.socket_path(cfg), sup.pid_path(cfg)):
            stale.unlink(missing_ok=True)
        started.forget(cfg)
    result = {"stopped": len(known) + len(swept["orphans"]), "killed": killed,
              "survivors": _describe(survivors),
              "strays": swept["orphans"],
              "series_marked_stale": bool(marked and marked.marked)}
    if survivors and strict:
        raise StackError(f"quedan procesos de la pila vivos tras 'down': {result['survivors']}")
    return result


def sweep_strays(cfg: Settings = settings, grace_s: float = reaper.DEFAULT_GRACE_S,
                 rounds: int = 3) -> dict:
    """Reap this stack's strays, sweeping again until a sweep finds none (at most ``rounds``).

    A process being reaped can still fork: Airflow 3.3's task supervisor puts each task runner
    it starts in a process group of its own, so a runner forked between the snapshot of a
    killed tree and the signal is in neither and is re-parented to init when its supervisor
    dies. Every fork needs a live parent, so once a sweep leaves no survivor, the next one
    sees everything the last reaped processes forked.

    Args:
        cfg: the settings (see :func:`opsbook.stack.health.stray_processes`).
        grace_s: SIGTERM grace before SIGKILL (``0``: SIGKILL at once).
        rounds: most sweeps to run.

    Returns:
        ``{"orphans": [{pid, cmd, reason}], "terminated": [pids], "killed": [pids],
        "survivors": [pids]}`` over all sweeps; ``survivors`` should be empty.
    """
    total: dict = {"orphans": [], "terminated": [], "killed": [], "survivors": []}
    for _ in range(rounds):
        strays = health.stray_processes(cfg)
        if not strays:
            break
        reasons = {p.pid: why for p, why in strays}
        report = reaper.reap([p for p, _ in strays], grace_s)
        total["orphans"] += [{**o, "reason": reasons.get(o["pid"], "hijo de huérfano")}
                             for o in report["orphans"]]
        total["terminated"] += report["terminated"]
        total["killed"] += report["killed"]
        total["survivors"] = report["survivors"]
        if report["survivors"] or not report["orphans"]:
            break  # another sweep would find the same processes
    return total


def kill_and_sweep(pid: int, grace_s: float = reaper.DEFAULT_GRACE_S,
                   cfg: Settings = settings) -> dict:
    """``kill -9`` one process of the stack, reap its tree, then sweep the stack's strays.

    :func:`opsbook.stack.reaper.kill_tree` reaps what it recorded before the kill (and the
    process group); :func:`sweep_strays` then catches a task runner forked into a group of its
    own while that was happening.

    Args:
        pid: the process to kill with SIGKILL.
        grace_s: SIGTERM grace for the orphans and the strays (``0``: SIGKILL at once).
        cfg: the settings.

    Returns:
        :func:`opsbook.stack.reaper.kill_tree`'s report (``pid``, ``killed_at``, ``orphans``,
        ``terminated``, ``killed``, ``survivors``) with the sweep's added, and
        ``late_orphans``: how many of the orphans only the sweep found.
    """
    report = reaper.kill_tree(pid, grace_s)
    late = sweep_strays(cfg, grace_s)
    return {**report, "late_orphans": len(late["orphans"]),
            **{key: report[key] + late[key] for key in ("orphans", "terminated", "killed",
                                                        "survivors")}}


def status(cfg: Settings = settings) -> dict:
    """Each component with its supervisord state, pid, port and health.

    Returns:
        ``{"running", "supervisord_pid", "mode", "healthy", "last_up_seconds",
        "components": {name: {"state", "pid", "port", "healthy", "uptime_s"}}}``.
    """
    now = states(cfg)
    ok = component_health(cfg)
    mode = read_mode(cfg)
    comps = {}
    for prog in recorded_programs(cfg):
        info = now.get(prog.name, {})
        pid = info.get("pid") or None
        comps[prog.name] = {
            "state": info.get("statename", "AUSENTE"),
            "pid": pid,
            "port": prog.port,
            "healthy": ok.get(prog.name, False),
            "uptime_s": (info["now"] - info["start"]) if pid else None,
        }
    return {
        "running": bool(now),
        "supervisord_pid": sup.supervisord_pid(cfg) if now else None,
        "mode": {k: mode.get(k) for k in ("executor", "workers")},
        "healthy": bool(now) and is_healthy(cfg),
        "last_up_seconds": mode.get("up_seconds"),
        "components": comps,
    }


def _known(name: str, cfg: Settings) -> None:
    names = [p.name for p in recorded_programs(cfg)]
    if name not in names:
        raise ValueError(f"componente {name!r} desconocido: usa uno de {names}")
    if not sup.is_running(cfg):
        raise StackError("la pila no está arrancada: ejecuta 'opsbook stack up'")


def component_pid(name: str, cfg: Settings = settings) -> int | None:
    """Pid of a running component (None when it is not running)."""
    _known(name, cfg)
    return sup.rpc(cfg).supervisor.getProcessInfo(name)["pid"] or None


def component_started_at(name: str, cfg: Settings = settings) -> float | None:
    """Unix time supervisord started a running component (None when it is not running)."""
    _known(name, cfg)
    info = sup.rpc(cfg).supervisor.getProcessInfo(name)
    return float(info["start"]) if info["pid"] else None


def stop_component(name: str, cfg: Settings = settings) -> None:
    """Stop one component (its whole process group) and wait until it is stopped.

    Raises:
        ValueError: unknown component name.
    """
    _known(name, cfg)
    try:
        sup.rpc(cfg, timeout=60).supervisor.stopProcess(name, True)
    except xmlrpc.client.Fault as exc:
        if "NOT_RUNNING" not in exc.faultString:
            raise


def start_component(name: str, cfg: Settings = settings, timeout_s: float = 120.0) -> float:
    """Start one component and wait until it is healthy.

    Returns:
        Seconds from the start request to healthy.

    Raises:
        StackError: not healthy before the deadline.
    """
    _known(name, cfg)
    t0 = time.monotonic()
    sup.start_process(sup.rpc(cfg), name)
    try:
        wait_until(lambda: component_health(cfg).get(name), timeout_s, 0.5,
                   f"'{name}' quede sano")
    except WaitTimeout as exc:
        raise StackError(f"{exc}: mira {cfg.log_dir}") from None
    return time.monotonic() - t0


def reload_prometheus(cfg: Settings = settings, timeout_s: float = 10.0) -> float:
    """Make the running Prometheus re-read its config and rule files (SIGHUP), synchronously.

    Prometheus runs without ``--web.enable-lifecycle`` (no ``POST /-/reload`` or ``/-/quit``
    for anyone who can reach the port), so the stack signals the process it supervises.

    Args:
        cfg: the settings.
        timeout_s: bound for Prometheus to report the reload.

    Returns:
        ``prometheus_config_last_reload_success_timestamp_seconds`` after the reload.

    Raises:
        StackError: Prometheus is not running, or did not reload successfully in time (a
            rule file with errors keeps the previous rules: see ``promtool check rules``).
    """
    def reload_state() -> tuple[float, float]:
        text = loopback.get(f"{cfg.prometheus_url}/metrics", timeout=5).raise_for_status().text
        values = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name.startswith("prometheus_config_last_reload_success"):
                values[name] = float(value)
        return (values.get("prometheus_config_last_reload_successful", 0.0),
                values.get("prometheus_config_last_reload_success_timestamp_seconds", 0.0))

    _known("prometheus", cfg)
    _, before = reload_state()
    sup.rpc(cfg).supervisor.signalProcess("prometheus", "HUP")
    try:
        _, stamp = wait_until(reload_state, timeout_s, 0.2,
                              "Prometheus recargue su configuración (éxito, instante)",
                              until=lambda got: got[0] == 1.0 and got[1] > before)
    except WaitTimeout as exc:
        raise StackError(f"{exc}: mira {cfg.log_dir} y 'promtool check rules'") from None
    return stamp


def restart_component(name: str, cfg: Settings = settings, timeout_s: float = 120.0) -> float:
    """Stop then start one component; returns seconds until healthy again."""
    stop_component(name, cfg)
    return start_component(name, cfg, timeout_s)
