"""The StatsD bridge's sockets: UDP ingestion loop and the ``/metrics`` HTTP server.

Why this module exists: :mod:`opsbook.observability.statsd_bridge` turns packets into series;
this module is the network around it, with the bounds a service reachable by every local user
needs: the UDP receive times out every second (housekeeping — TTL expiry, SIGHUP reloads —
runs in the receiving thread between packets, without a second thread waking it), HTTP
connections time out after :data:`HTTP_TIMEOUT_S`, the listen backlog is :data:`BACKLOG`, and
a scrape renders within one lock-free pass over the store.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol

log = logging.getLogger("opsbook.observability.statsd_bridge")
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux value; not exported by Python
HTTP_TIMEOUT_S = 10.0
"""An HTTP client that sends nothing for this long is disconnected."""
BACKLOG = 128
"""Listen backlog of ``/metrics``."""
TICK_S = 1.0
"""UDP receive timeout: the longest a housekeeping pass waits when no packet arrives."""


class Ingester(Protocol):
    """What the network loop needs from :class:`~opsbook.observability.statsd_bridge.Bridge`."""

    def ingest(self, packet: bytes, now: float | None = None) -> None: ...  # noqa: D102

    def expire(self, now: float) -> None: ...  # noqa: D102

    def reload(self, path: Path) -> bool: ...  # noqa: D102

    def render(self) -> bytes: ...  # noqa: D102


class _Handler(BaseHTTPRequestHandler):
    bridge: Ingester
    timeout = HTTP_TIMEOUT_S

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path.split("?")[0] == "/metrics":
            body, status, ctype = self.bridge.render(), 200, "text/plain; version=0.0.4"
        elif self.path == "/":
            body = b"opsbook StatsD bridge: ver /metrics\n"
            status, ctype = 200, "text/plain"
        else:
            body, status, ctype = b"no encontrado\n", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args) -> None:
        log.debug("http: " + fmt, *args)


class _Server(ThreadingHTTPServer):
    request_queue_size = BACKLOG
    daemon_threads = True


def serve_http(bridge: Ingester, host: str, port: int) -> ThreadingHTTPServer:
    """Start ``/metrics`` in a daemon thread and return the server (``server_address``)."""
    handler = type("Handler", (_Handler,), {"bridge": bridge})
    server = _Server((host, port), handler)
    threading.Thread(target=server.serve_forever, name="bridge-http", daemon=True).start()
    return server


def open_udp(host: str, port: int, read_buffer: int = 0) -> socket.socket:
    """Bind the StatsD UDP socket (``read_buffer`` bytes of SO_RCVBUF when > 0)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if read_buffer > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, read_buffer)
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < read_buffer:
            try:  # above net.core.rmem_max: allowed with CAP_NET_ADMIN
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, read_buffer)
            except OSError:
                log.warning("SO_RCVBUF limitado por net.core.rmem_max a %d bytes",
                            sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2)
    sock.bind((host, port))
    return sock


def wake(sock: socket.socket) -> None:
    """Send an empty datagram to ``sock`` so a blocked receive returns at once (stop)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as poke:
        poke.sendto(b"", sock.getsockname())


def run_udp(bridge: Ingester, sock: socket.socket, stop: threading.Event,
            mapping_path: Path | None = None, reload_flag: threading.Event | None = None,
            tick_s: float = TICK_S) -> None:
    """Receive and ingest packets until ``stop`` is set.

    The receive times out after ``tick_s`` of silence, so TTL expiry and SIGHUP reloads run
    in this same thread, between packets, at least once per ``tick_s``.
    """
    sock.settimeout(tick_s)
    last_tick = time.time()
    recv, ingest, clock = sock.recv, bridge.ingest, time.time
    while not stop.is_set():
        try:
            packet = recv(65535)
        except TimeoutError:
            packet = b""
        now = clock()
        if packet:
            ingest(packet, now)
        if now - last_tick >= tick_s or not packet:
            last_tick = now
            bridge.expire(now)
            if reload_flag is not None and reload_flag.is_set() and mapping_path is not None:
                reload_flag.clear()
                bridge.reload(mapping_path)
