"""Health of the stack's components and the processes/sockets that belong to one stack.

Why this module exists: "up" means *healthy*, not "a process exists": Airflow's health
endpoint (:data:`opsbook.airflow.paths.HEALTH_PATH`) must report every component healthy,
Prometheus and Alertmanager ``/-/ready``, the bridge ``/metrics``. ``down`` must prove no
process survived, and a test must prove every listening socket is on 127.0.0.1; both need to
know which processes are ours, which this module answers (the supervisord tree plus its
strays: orphans in the session of a supervisord the stack recorded starting, see
:mod:`opsbook.stack.started`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import psutil

from opsbook import loopback
from opsbook.airflow.paths import health_url
from opsbook.settings import HOST, Settings, settings
from opsbook.stack import started
from opsbook.stack.programs import Program
from opsbook.stack.supervisor_conf import STACK_MARK, conf_path, supervisord_pid

AIRFLOW_JSON_KEYS = {
    "scheduler": "scheduler",
    "dag-processor": "dag_processor",
    "triggerer": "triggerer",
}
"""supervisord program → key of its status in Airflow's health JSON."""



def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether ``GET url`` answers 2xx within ``timeout`` seconds."""
    try:
        return loopback.get(url, timeout=timeout, follow_redirects=True).is_success
    except (httpx.HTTPError, ValueError):
        return False


def tcp_ok(port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on ``HOST:port``."""
    try:
        socket.create_connection((HOST, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def port_busy(port: int, udp: bool = False) -> str | None:
    """Who holds ``HOST:port`` (a short description), or None when it is free.

    Args:
        port: the port to test.
        udp: test a UDP port instead of TCP.
    """
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
            return None
        except OSError:
            pass
    for conn in psutil.net_connections("udp" if udp else "tcp"):
        if conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                return f"pid {conn.pid} ({' '.join(psutil.Process(conn.pid).cmdline())[:80]})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return "otro proceso"


def airflow_health(
    cfg: Settings = settings, timeout: float = 3.0, url: str | None = None
) -> dict | None:
    """JSON of Airflow's health endpoint, or None if unreachable or not JSON.

    Args:
        cfg: settings (the stack's api-server URL).
        timeout: request timeout in seconds.
        url: another base URL (a green slot, the front door) instead of the api-server.
    """
    try:
        resp = loopback.get(health_url(url or cfg.airflow_url), timeout=timeout)
        return resp.json() if resp.is_success else None
    except (httpx.HTTPError, ValueError):
        return None


def program_healthy(prog: Program, state: str, airflow: dict | None) -> bool:
    """Health of one program given its supervisord state and Airflow's health JSON.

    Args:
        prog: the program (its ``health_url`` or ``port`` is probed when set).
        state: supervisord state name (``RUNNING``, ``STOPPED`` ...).
        airflow: Airflow's health JSON (None when the api-server is down).
    """
    if state != "RUNNING":
        return False
    key = AIRFLOW_JSON_KEYS.get(prog.name)
    if key is not None:
        return bool(airflow) and (airflow.get(key) or {}).get("status") == "healthy"
    if prog.health_url:
        return http_ok(prog.health_url)
    if prog.port:
        return tcp_ok(prog.port)
    return True


def _supervised(cfg: Settings) -> tuple[dict[int, psutil.Process], int | None]:
    """The live supervisord of this stack and its tree; also returns its pid (its session)."""
    pid = supervisord_pid(cfg)
    if not pid:
        return {}, None
    try:
        root = psutil.Process(pid)
        if str(conf_path(cfg)) not in " ".join(root.cmdline()):
            return {}, None  # a stale pid file: that pid now belongs to someone else
        return {root.pid: root, **{c.pid: c for c in root.children(recursive=True)}}, pid
    except psutil.Error:
        return {}, None


def _stray_reason(proc: psutil.Process, cfg: Settings,
                  entries: list[started.Started]) -> str | None:
    """Why a process outside the supervisord tree was started by this stack (None: it was not).

    Only what the stack recorded counts: the session of a supervisord it launched (pid and
    start time in ``var/run/started.json``), or the environment mark it gives its programs on
    a process started after its first recorded supervisord (a child that left the session,
    like a ``BashOperator`` command). A process that merely names or opens a file under
    ``var/`` (a student's ``tail -f``, ``sqlite3``) is never matched, nor another stack's.
    """
    if not entries:
        return None
    if started.started_by_stack(proc, entries):
        return "sesión de supervisord"  # re-parented orphan of a program of this stack
    if proc.environ().get(STACK_MARK) == str(cfg.var) and \
            proc.create_time() >= min(e.create_time for e in entries):
        return "marca de entorno"
    return None


def stray_processes(cfg: Settings = settings) -> list[tuple[psutil.Process, str]]:
    """Processes this stack started that supervisord does not know (orphans), with the reason.

    A ``kill -9`` leaves the victim's children re-parented to init: supervisord never stops
    them. They are found by the session of a supervisord this stack recorded starting, or by
    the stack's environment mark on a process younger than that supervisord (see
    :mod:`opsbook.stack.started`). The caller and its ancestors are never included.

    Args:
        cfg: settings whose ``var/run/started.json`` identifies the stack.
    """
    tree, _session = _supervised(cfg)
    return _strays(cfg, tree)


def _strays(cfg: Settings, tree: dict[int, psutil.Process]) -> list[tuple[psutil.Process, str]]:
    entries = started.recorded(cfg)
    if not entries:
        return []
    me = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found: list[tuple[psutil.Process, str]] = []
    for proc in psutil.process_iter():
        if proc.pid in tree or proc.pid in me:
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue  # already dead, only waits for its parent to collect it
            reason = _stray_reason(proc, cfg, entries)
            if reason and any(parent.pid in tree for parent in proc.parents()):
                continue  # forked by a supervised process after the tree was read
        except (OSError, psutil.Error):
            continue
        if reason:
            found.append((proc, reason))
    return found


def stack_processes(cfg: Settings = settings) -> list[psutil.Process]:
    """Every live process of this stack: the supervisord tree plus its strays and their children.

    Args:
        cfg: settings whose ``var`` path identifies the stack (see :func:`stray_processes`).
    """
    found, _session = _supervised(cfg)
    for proc, _reason in _strays(cfg, dict(found)):
        found[proc.pid] = proc
        try:
            found.update({c.pid: c for c in proc.children(recursive=True)})
        except psutil.Error:
            continue
    return [p for p in found.values() if p.is_running()]


def listening_sockets(cfg: Settings = settings) -> list[dict]:
    """Listening TCP sockets and bound UDP sockets of the stack's processes.

    Returns:
        One dict per socket: ``pid``, ``process``, ``proto`` (tcp/udp), ``ip``, ``port``.
    """
    out = []
    for proc in stack_processes(cfg):
        try:
            conns = proc.net_connections(kind="inet")
            name = proc.name()
        except psutil.Error:
            continue
        for conn in conns:
            udp = conn.type == socket.SOCK_DGRAM
            if not conn.laddr or (not udp and conn.status != psutil.CONN_LISTEN):
                continue
            if udp and conn.raddr:
                continue
            out.append(
                {
                    "pid": proc.pid,
                    "process": name,
                    "proto": "udp" if udp else "tcp",
                    "ip": conn.laddr.ip,
                    "port": conn.laddr.port,
                }
            )
    return out


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (``net.ipv4.ip_local_port_range``)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def non_loopback_listeners(cfg: Settings = settings) -> list[dict]:
    """The stack's services bound to anything but loopback (should be an empty list).

    Every TCP listener counts. An unconnected UDP socket on ``0.0.0.0`` with a port in the
    kernel's ephemeral range is the StatsD *client* socket of an Airflow process (``sendto``
    auto-binds it; nothing reads from it), so it is not a service and is left out; any other
    UDP binding counts.
    """
    low, high = ephemeral_range()
    bad = []
    for sock in listening_sockets(cfg):
        if sock["ip"] in ("127.0.0.1", "::1"):
            continue
        if sock["proto"] == "udp" and low <= sock["port"] <= high:
            continue
        bad.append(sock)
    return bad
