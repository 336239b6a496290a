"""The stack's Alertmanager webhook: record every notification, then hand it to the runbook.

Why this module exists: Alertmanager's webhook receivers need someone listening. This small
service (``python -m opsbook.observability.alert_receiver``, run by the stack on ``settings.HOST``
and
``settings.ports.webhook``) appends each notification, stamped with its receive time, to
``var/alerts/notifications.jsonl`` — the evidence the day-2 notebook, the alert tests and the
benchmarks read to measure latency — and serves them back on ``GET /notifications``.

After recording, when :mod:`opsbook.incidents.runbook` offers ``on_notification`` and automation is
on (no ``var/run/automation_off`` file), the notification is passed to it in a background thread,
so a slow runbook never delays Alertmanager (day 3 plugs the automatic response in here).

Endpoints: ``POST /alerts/<receiver>`` (and ``POST /``), ``GET /notifications[?since=<unix>]``,
``GET /-/ready``. Standard library HTTP server: one small job, no extra dependency.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from opsbook.settings import HOST, settings

log = logging.getLogger("opsbook.observability.alert_receiver")
_LOCK = threading.Lock()
MAX_BODY = 5_000_000


def notifications_file() -> Path:
    """``var/alerts/notifications.jsonl`` (one JSON object per received notification)."""
    return settings.var / "alerts" / "notifications.jsonl"


def automation_off_flag() -> Path:
    """While this file exists the runbook is not called (notifications are still recorded)."""
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


def dispatch(payload: dict[str, Any]) -> threading.Thread | None:
    """Call ``opsbook.incidents.runbook.on_notification(payload)`` in a thread, if enabled.

    Returns:
        The started thread, or None when automation is off or no runbook hook exists.
    """
    if automation_off_flag().exists():
        return None
    try:
        runbook = importlib.import_module("opsbook.incidents.runbook")
    except Exception:  # noqa: BLE001 - a broken runbook must not stop the recording
        log.exception("no se pudo importar opsbook.incidents.runbook")
        return None
    hook = getattr(runbook, "on_notification", None)
    if not callable(hook):
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
    """HTTP handler of the receiver."""

    server_version = "opsbook-alert-receiver/1"

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        """Record an Alertmanager notification."""
        path = urlparse(self.path).path
        if not (path == "/" or path.startswith("/alerts")):
            self._send(404, {"error": f"ruta desconocida {path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._send(400, {"error": "cuerpo vacío o demasiado grande"})
            return
        try:
            payload = json.loads(self.rfile.read(length))
            if not isinstance(payload, dict):
                raise ValueError("se esperaba un objeto JSON")
        except ValueError as exc:
            self._send(400, {"error": f"JSON inválido: {exc}"})
            return
        entry = record(payload, path)
        log.info("notificación %s: %s %s", path, payload.get("status"),
                 [a.get("labels", {}).get("alertname") for a in payload.get("alerts", [])])
        dispatch(payload)
        self._send(200, {"recorded": entry["received_at"]})

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """Serve the recorded notifications or the readiness probe."""
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


def serve(host: str = HOST, port: int | None = None) -> ThreadingHTTPServer:
    """Create the server (not started); ``serve_forever()`` runs it.

    Args:
        host: address to bind (loopback).
        port: ``None`` for the stack's webhook port; ``0`` for any free port (tests).
    """
    server = ThreadingHTTPServer(
        (host, settings.ports.webhook if port is None else port), Handler
    )
    server.daemon_threads = True
    return server


def main() -> None:
    """Entry point of ``python -m opsbook.observability.alert_receiver``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = serve()
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
