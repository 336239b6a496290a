"""The stack's Alertmanager webhook: record every notification, then hand it to the runbook.

Why this module exists: Alertmanager's webhook receivers need someone listening. This small
service (``python -m opsbook.observability.alert_receiver``, run by the stack on ``settings.HOST``
and
``settings.ports.webhook``) appends each notification, stamped with its receive time, to
``var/alerts/notifications.jsonl`` — the evidence the day-2 notebook, the alert tests and the
benchmarks read to measure latency — and serves them back on ``GET /notifications``.

After recording, when a runbook hook was given (``main(on_notification=...)``), the notification
is passed to it in a background thread, so a slow runbook never delays Alertmanager. The hook is
called even while automation is off (``var/run/automation_off``): what a pause allows is the
runbook's decision (it opens and repairs nothing, but still closes the incident of an alert that
resolves), and a "resolved" dropped here would leave an incident open forever. The hook is
injected from above: the stack runs ``python -m opsbook.incidents.responder``, which plugs the
runbook in (day 3), because the observability room must not import the incidents room.

Every ``POST`` must pass :mod:`opsbook.observability.alert_guard` (Alertmanager's bearer token,
JSON content type, bounded body, every alert a rule of the stack with that rule's labels);
anything else is refused with a 4xx, logged, never recorded and never handed to the runbook.
The hand-off is idempotent and rate-limited per alert fingerprint
(:class:`~opsbook.observability.alert_guard.RecoveryGate`). Sockets time out after
:data:`READ_TIMEOUT_S`, the listen backlog is :data:`BACKLOG` and at most
:data:`MAX_CONCURRENT` requests run at once.

Endpoints: ``POST /alerts/warning``, ``/alerts/critical``, ``/alerts/human`` (and ``POST /``),
``GET /notifications[?since=<unix>]`` and ``GET /-/ready`` (read-only, no token). Standard
library HTTP server: one small job, no extra dependency.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from opsbook.observability.alert_guard import (
    RecoveryGate,
    Refused,
    RuleBook,
    check_headers,
    parse_payload,
)
from opsbook.settings import HOST, settings

log = logging.getLogger("opsbook.observability.alert_receiver")
_LOCK = threading.Lock()
READ_TIMEOUT_S = 5.0
"""A connection that sends nothing for this long is closed (slow-body clients)."""
BACKLOG = 128
"""Listen backlog (the standard library's default of 5 drops bursts of connections)."""
MAX_CONCURRENT = 32
"""Requests served at once; further connections are closed immediately."""


def notifications_file() -> Path:
    """``var/alerts/notifications.jsonl`` (one JSON object per received notification)."""
    return settings.var / "alerts" / "notifications.jsonl"


def automation_off_flag() -> Path:
    """While this file exists the runbook opens and repairs nothing (it still closes incidents)."""
    return settings.run_dir / "automation_off"


def record(payload: dict[str, Any], path: str, received_at: float | None = None) -> dict:
    """Append one notification to the JSONL file and return the stored entry.

    Args:
        payload: the Alertmanager webhook body.
        path: request path (``/alerts/warning`` ...), kept as ``receiver_path``.
        received_at: Unix time of reception (default: now).
    """
    received_at = time.time() if received_at is None else received_at
    entry = {
        "received_at": received_at,
        "received_iso": datetime.fromtimestamp(received_at, tz=UTC).isoformat(),
        "receiver_path": path,
        "notification": payload,
    }
    target = notifications_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _LOCK, target.open("a", encoding="utf-8") as fh:
        fh.write(line)
    return entry


def read_all(since: float | None = None) -> list[dict[str, Any]]:
    """Every recorded notification (optionally only those received at or after ``since``)."""
    target = notifications_file()
    if not target.exists():
        return []
    entries = []
    with _LOCK:
        lines = target.read_text(encoding="utf-8").splitlines()
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # a torn last line must not hide the others
            continue
        if since is None or entry["received_at"] >= since:
            entries.append(entry)
    return entries


Hook = Callable[[dict[str, Any]], Any]
"""What the receiver calls with each notification (the runbook's ``on_notification``)."""


def dispatch(payload: dict[str, Any], on_notification: Hook | None = None
             ) -> threading.Thread | None:
    """Call ``on_notification(payload)`` in a thread, whether automation is on or off.

    The hook itself honours the automation switch: paused, the runbook only closes the incidents
    of alerts that resolve. Gating here too dropped those "resolved" notifications (an incident
    of day 3's ``db_unreachable`` drill stayed open after day 4's switch to Celery, and the next
    student's drill waited 300 s for it and was refused).

    Returns:
        The started thread, or None when no hook was given.
    """
    hook = on_notification
    if hook is None:
        return None

    def run() -> None:
        try:
            hook(payload)
        except Exception:  # noqa: BLE001 - logged; the receiver keeps serving
            log.exception("on_notification falló")

    thread = threading.Thread(target=run, name="runbook", daemon=True)
    thread.start()
    return thread


class Handler(BaseHTTPRequestHandler):
    """HTTP handler of the receiver (the server carries the token, rules and gate)."""

    server_version = "opsbook-alert-receiver/2"
    timeout = READ_TIMEOUT_S  # socket timeout: a client that stops sending is dropped
    server: ReceiverServer

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, refused: Refused) -> None:
        self.server.refusals[refused.status] = self.server.refusals.get(refused.status, 0) + 1
        log.warning("petición rechazada %s %s desde %s: %d %s", self.command,
                    self.path[:200], self.client_address[0], refused.status, refused.reason)
        self._send(refused.status, {"error": refused.reason})

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        """Record an authenticated, valid Alertmanager notification and hand it over."""
        path = urlparse(self.path).path
        try:
            length = check_headers(path, self.headers, self.server.token)
            body = self.rfile.read(length)
            if len(body) < length:
                raise Refused(400, "cuerpo incompleto")
            payload = parse_payload(body, self.server.rules.current())
        except Refused as refused:
            self._refuse(refused)
            return
        except TimeoutError:
            self._refuse(Refused(408, f"cuerpo no recibido en {READ_TIMEOUT_S:g} s"))
            return
        entry = record(payload, path)
        log.info("notificación %s: %s %s", path, payload.get("status"),
                 [a.get("labels", {}).get("alertname") for a in payload.get("alerts", [])])
        admitted = self.server.gate.admit(payload)
        if admitted is not None:
            self.server.hook(admitted)
        self._send(200, {"recorded": entry["received_at"],
                         "handed_over": len(admitted["alerts"]) if admitted else 0})

    def _other(self) -> None:
        self._refuse(Refused(405, f"método {self.command} no admitido"))

    do_PUT = do_DELETE = do_PATCH = _other  # noqa: N815 - http.server naming

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """Serve the recorded notifications or the readiness probe (read-only, no token)."""
        url = urlparse(self.path)
        if url.path in ("/-/ready", "/-/healthy", "/health"):
            self._send(200, {"status": "ok"})
        elif url.path == "/notifications":
            since = parse_qs(url.query).get("since", [None])[0]
            try:
                self._send(200, read_all(float(since) if since else None))
            except ValueError:
                self._send(400, {"error": f"since={since!r} no es un número (segundos Unix)"})
        else:
            self._send(404, {"error": f"ruta desconocida {url.path}"})

    def log_message(self, fmt: str, *args: Any) -> None:
        """Route http.server's access log through :mod:`logging` (debug level)."""
        log.debug("%s " + fmt, self.address_string(), *args)


class ReceiverServer(ThreadingHTTPServer):
    """Threaded HTTP server with a real listen backlog and a bound on concurrent requests.

    Attributes:
        token: the bearer token Alertmanager must send.
        rules: the stack's alerting rules (re-read when a file changes).
        gate: idempotency and rate limit of the runbook hand-off.
        hook: called with each admitted payload (default :func:`dispatch`).
        refusals: refused requests by HTTP status.
    """

    request_queue_size = BACKLOG
    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str, rules: RuleBook,
                 gate: RecoveryGate, hook: Callable[[dict], Any] = dispatch) -> None:
        super().__init__(address, Handler)
        self.token, self.rules, self.gate, self.hook = token, rules, gate, hook
        self.refusals: dict[int, int] = {}
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)

    def process_request(self, request, client_address) -> None:
        """Serve in a thread, or close at once when ``MAX_CONCURRENT`` requests are running."""
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        """Serve one connection and free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def read_token() -> str:
    """The bearer token: ``settings.webhook_token_file`` (generated first when missing)."""
    path = settings.webhook_token_file
    if not path.exists():
        settings.secrets  # noqa: B018 - generates var/secrets/, the token among them
    token = path.read_text().strip()
    if not token:
        raise RuntimeError(f"{path} está vacío: bórralo y vuelve a arrancar la pila")
    return token


def serve(host: str = HOST, port: int | None = None, token: str | None = None,
          hook: Callable[[dict], Any] = dispatch,
          gate: RecoveryGate | None = None, rules_dir: Path | None = None) -> ReceiverServer:
    """Create the server (not started); ``serve_forever()`` runs it.

    Args:
        host: address to bind (loopback).
        port: ``None`` for the stack's webhook port; ``0`` for any free port (tests).
        token: expected bearer token (default: ``var/secrets/alert_webhook_token``).
        hook: called with every admitted notification (tests pass a recorder).
        gate: hand-off policy (default: :class:`RecoveryGate` with its defaults).
        rules_dir: folder of the alerting rules (default ``monitoring/prometheus/rules``).
    """
    if token is None:
        token = read_token()
    rules = RuleBook(rules_dir or settings.monitoring_dir / "prometheus" / "rules")
    return ReceiverServer((host, settings.ports.webhook if port is None else port), token,
                          rules, gate or RecoveryGate(), hook)


def main(on_notification: Hook | None = None) -> None:
    """Run the receiver until interrupted (``python -m opsbook.observability.alert_receiver``).

    Args:
        on_notification: the runbook hook (the stack's :mod:`opsbook.incidents.responder`
            passes the runbook's); ``None`` only records.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = serve(hook=functools.partial(dispatch, on_notification=on_notification))
    log.info("receptor de alertas en http://%s:%s -> %s", *server.server_address[:2],
             notifications_file())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
