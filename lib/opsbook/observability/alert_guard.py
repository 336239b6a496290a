"""What the alert receiver accepts, and how often it lets a notification trigger recovery.

Why this module exists: every service of the stack listens on 127.0.0.1, which any local user
and any web page a student opens can reach (a ``POST`` with ``Content-Type: text/plain`` needs
no CORS preflight). An unauthenticated, forged ``AirflowApiDown`` notification once restarted
the api-server. The receiver (:mod:`opsbook.observability.alert_receiver`) therefore admits a
request only when every check here passes:

* the bearer token Alertmanager sends (``http_config.authorization.credentials_file`` pointing
  at ``var/secrets/alert_webhook_token``), compared in constant time;
* a JSON content type and a bounded body;
* an Alertmanager webhook payload (version 4) whose every alert names a rule of
  ``monitoring/prometheus/rules`` and carries that rule's static labels unchanged.

:class:`RecoveryGate` then makes the runbook hand-off idempotent and rate-limited per alert
fingerprint: Alertmanager repeats a firing alert in every group update, and a flapping alert
must not restart a component in a loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BODY = 256 * 1024
"""Largest accepted body (bytes); Alertmanager's notifications of this stack are a few KiB."""
MAX_ALERTS = 200
"""Most alerts accepted in one notification."""
MAX_LABELS = 30
"""Most labels accepted on one alert."""
MAX_LABEL_VALUE = 1024
"""Longest accepted label value (characters)."""
RECEIVER_PATHS = frozenset({"/", "/alerts/warning", "/alerts/critical", "/alerts/human"})
"""The paths Alertmanager's receivers of this stack post to."""
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class Refused(Exception):  # noqa: N818 - reads as "the request was refused"
    """A request the receiver must refuse.

    Attributes:
        status: HTTP status to answer (4xx).
        reason: short Spanish explanation (answered and logged).
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def token_ok(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (constant-time compare).

    Args:
        header: the request's ``Authorization`` value (None when absent).
        token: the expected secret (an empty token never matches).
    """
    if not header or not token:
        return False
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def check_headers(path: str, headers: Any, token: str) -> int:
    """Validate the request line and headers; return the body length to read.

    Args:
        path: request path without the query.
        headers: the request's headers (``.get`` by name).
        token: the expected bearer token.

    Raises:
        Refused: 401 without the token, 404 for an unknown path, 415 for a non-JSON content
            type, 411/413 for a missing or too large body.
    """
    if not token_ok(headers.get("Authorization"), token):
        raise Refused(401, "falta el token del receptor o no es válido")
    if path not in RECEIVER_PATHS:
        raise Refused(404, f"ruta desconocida {path}")
    ctype = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        raise Refused(415, f"tipo de contenido {ctype or 'ausente'!r}: se espera application/json")
    try:
        length = int(headers.get("Content-Length") or "")
    except ValueError:
        raise Refused(411, "falta Content-Length") from None
    if length <= 0:
        raise Refused(400, "cuerpo vacío")
    if length > MAX_BODY:
        raise Refused(413, f"cuerpo de {length} bytes: el máximo es {MAX_BODY}")
    return length


@dataclass(frozen=True)
class KnownRules:
    """Static labels of every alerting rule, by alert name."""

    labels: dict[str, dict[str, str]]

    @classmethod
    def load(cls, folder: Path) -> KnownRules:
        """Read the alerting rules of ``folder/*.yml`` (recording rules are skipped)."""
        found: dict[str, dict[str, str]] = {}
        for path in sorted(folder.glob("*.yml")):
            doc = yaml.safe_load(path.read_text()) or {}
            for group in doc.get("groups") or []:
                for rule in group.get("rules") or []:
                    if "alert" in rule:
                        labels = {str(k): str(v) for k, v in (rule.get("labels") or {}).items()}
                        found[str(rule["alert"])] = labels
        return cls(found)


class RuleBook:
    """The known rules, re-read when a rule file changes (rules evolve while the stack runs).

    Args:
        folder: ``monitoring/prometheus/rules``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stamp: tuple = ()
        self._rules = KnownRules({})
        self._lock = threading.Lock()

    def current(self) -> KnownRules:
        """The rules as the files say now."""
        stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(self.folder.glob("*.yml")))
        with self._lock:
            if stamp != self._stamp:
                self._rules, self._stamp = KnownRules.load(self.folder), stamp
            return self._rules


def parse_payload(body: bytes, rules: KnownRules) -> dict[str, Any]:
    """Decode and validate an Alertmanager webhook body.

    Args:
        body: the raw request body.
        rules: the alerting rules the stack runs.

    Returns:
        The payload (unchanged).

    Raises:
        Refused: 400 for invalid JSON or a payload not shaped like Alertmanager's, 422 for an
            alert whose name is no rule of the stack or whose labels contradict its rule.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, f"JSON inválido: {exc}") from None
    if not isinstance(payload, dict):
        raise Refused(400, "JSON inválido: se esperaba un objeto")
    if str(payload.get("version")) != "4" or payload.get("status") not in ("firing", "resolved"):
        raise Refused(400, "no es una notificación de Alertmanager (version 4, status)")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts or len(alerts) > MAX_ALERTS:
        raise Refused(400, f"'alerts' debe ser una lista de 1 a {MAX_ALERTS} alertas")
    for alert in alerts:
        _check_alert(alert, rules)
    return payload


def _check_alert(alert: Any, rules: KnownRules) -> None:
    if not isinstance(alert, dict) or alert.get("status") not in ("firing", "resolved"):
        raise Refused(400, "cada alerta necesita 'status' firing o resolved")
    labels = alert.get("labels")
    if not isinstance(labels, dict) or not 0 < len(labels) <= MAX_LABELS:
        raise Refused(400, f"cada alerta necesita de 1 a {MAX_LABELS} etiquetas")
    for key, value in labels.items():
        if not _LABEL_NAME.match(key) or not isinstance(value, str) \
                or len(value) > MAX_LABEL_VALUE:
            raise Refused(422, f"etiqueta inválida {str(key)[:40]!r}")
    name = labels.get("alertname")
    expected = rules.labels.get(name)
    if expected is None:
        raise Refused(422, f"alerta desconocida {str(name)[:80]!r}: ninguna regla la emite")
    wrong = sorted(k for k, v in expected.items() if labels.get(k) != v)
    if wrong:
        raise Refused(422, f"{name}: etiquetas que no coinciden con su regla: {wrong}")


def fingerprint(alert: dict[str, Any]) -> str:
    """Alertmanager's ``fingerprint`` of an alert, or a hash of its labels when absent."""
    given = alert.get("fingerprint")
    if isinstance(given, str) and given:
        return given
    text = json.dumps(alert.get("labels", {}), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class RecoveryGate:
    """Decide which alerts of a notification may reach the runbook.

    Idempotent: one (fingerprint, ``startsAt``, status) is handed over once, however often
    Alertmanager repeats it. Rate-limited: a new firing of the same fingerprint (a new
    ``startsAt``: the alert flapped) is handed over at most once per ``min_interval_s``.

    Args:
        min_interval_s: least time between two recoveries for one fingerprint.
        memory: how many handed-over keys are remembered (oldest forgotten first).
        clock: time source (tests).
    """

    def __init__(self, min_interval_s: float = 30.0, memory: int = 4096, clock=time.monotonic):
        self.min_interval_s, self.memory, self.clock = min_interval_s, memory, clock
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._last_firing: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self.suppressed = {"repeated": 0, "rate_limited": 0}

    def admit(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Return the payload with only the alerts to hand over, or None when there is none."""
        now = self.clock()
        kept = []
        with self._lock:
            for alert in payload.get("alerts", []):
                fp = fingerprint(alert)
                key = (fp, str(alert.get("startsAt", "")), str(alert.get("status")))
                if key in self._seen:
                    self.suppressed["repeated"] += 1
                    continue
                if key[2] == "firing":
                    last = self._last_firing.get(fp)
                    if last is not None and now - last < self.min_interval_s:
                        self.suppressed["rate_limited"] += 1
                        continue
                    self._remember(self._last_firing, fp, now)
                self._remember(self._seen, key, now)
                kept.append(alert)
        return {**payload, "alerts": kept} if kept else None

    def _remember(self, table: OrderedDict, key, now: float) -> None:
        table[key] = now
        table.move_to_end(key)
        while len(table) > self.memory:
            table.popitem(last=False)
