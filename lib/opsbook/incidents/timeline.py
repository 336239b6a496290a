"""Incident records and their timestamped timeline, persisted as JSON files.

Why this module exists: the runbook engine (running inside the alert receiver), the drills
(another process), the post-mortem generator and the notebook all read and write the same
incident records. Keeping the record format and its file store apart from the engine lets
each of them load an incident without importing the machinery that responds to it.
"""

from __future__ import annotations

import fcntl
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook import records

PHASES = ("detect", "diagnose", "recover", "verify", "escalate", "close", "drill")


def iso(ts: float) -> str:
    """Format an epoch timestamp as ISO-8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def parse_ts(value: str | None) -> float | None:
    """Parse an Alertmanager/ISO timestamp into epoch seconds (None for empty/zero dates)."""
    if not value or value.startswith("0001-"):
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:  # Alertmanager sends nanoseconds; Python keeps microseconds
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits):]
        text = f"{head}.{digits[:6]}{zone}"
    return datetime.fromisoformat(text).timestamp()


@dataclass
class Incident:
    """One incident and everything done about it.

    Attributes:
        id: unique id (``INC-<utc time>-<short>``).
        type: catalog key; ``category``, ``severity`` and ``title`` copied from the catalog.
        fingerprint: Alertmanager fingerprint of the alert that opened it (dedupe key).
        labels: the alert's labels and annotations merged (context for checks and actions).
        started_at: when the failure began (alert ``startsAt`` or a drill's fault time).
        detected_at: when the runbook received the alert.
        status: ``open`` → ``diagnosing`` → ``recovering`` → ``recovered`` | ``escalated``.
        resolved_at: when Alertmanager said the alert resolved (None while firing).
        timeline: ordered events ``{t, ts, phase, step, ok, duration_s, detail}``.
        diagnosis: check name → outcome detail, attached to escalations.
        recovered_at: when verification first passed.
    """

    type: str
    category: str
    severity: str
    title: str
    fingerprint: str
    labels: dict[str, str]
    started_at: float
    detected_at: float
    id: str = ""
    status: str = "open"
    resolved_at: float | None = None
    recovered_at: float | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    diagnosis: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            stamp = datetime.fromtimestamp(self.detected_at, UTC).strftime("%Y%m%dT%H%M%S")
            self.id = f"INC-{stamp}-{uuid.uuid4().hex[:6]}"

    def add(self, phase: str, step: str, ok: bool | None = None, detail: Any = None,
            duration_s: float | None = None, t: float | None = None) -> dict[str, Any]:
        """Append one timestamped event to the timeline and return it."""
        if phase not in PHASES:
            raise ValueError(f"fase {phase!r} desconocida; usa una de {PHASES}")
        now = time.time() if t is None else t
        event = {"t": now, "ts": iso(now), "phase": phase, "step": step, "ok": ok,
                 "duration_s": None if duration_s is None else round(duration_s, 3),
                 "detail": detail}
        self.timeline.append(event)
        return event

    @property
    def finished(self) -> bool:
        """True once the response ended (recovered or escalated)."""
        return self.status in ("recovered", "escalated")

    def first(self, phase: str) -> dict[str, Any] | None:
        """First event of a phase (None when the phase never happened)."""
        return next((e for e in self.timeline if e["phase"] == phase), None)

    def durations(self) -> dict[str, float | None]:
        """Detection, acknowledgement and recovery times in seconds from ``started_at``."""
        diag = self.first("diagnose")
        return {
            "mttd_s": round(self.detected_at - self.started_at, 3),
            "mtta_s": round(diag["t"] - self.started_at, 3) if diag else None,
            "mttr_s": (round(self.recovered_at - self.started_at, 3)
                       if self.recovered_at else None),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (timestamps also as ISO strings)."""
        data = asdict(self)
        data.update({f"{k}_iso": iso(v) for k, v in list(data.items())
                     if k.endswith("_at") and isinstance(v, float)})
        data["metrics"] = self.durations()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        """Rebuild an incident from :meth:`to_dict` output."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


class IncidentStore:
    """Incident JSON files in one folder, with a file lock for cross-process dedupe.

    Args:
        folder: where ``INC-*.json`` and ``pages.jsonl`` live (created when missing).
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's exclusive lock (across processes)."""
        with open(self.folder / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def path(self, incident_id: str) -> Path:
        """File of one incident."""
        return self.folder / f"{incident_id}.json"

    def save(self, incident: Incident) -> Path:
        """Write an incident atomically (readers never see half a file)."""
        return records.write_atomic(
            self.path(incident.id),
            json.dumps(incident.to_dict(), indent=2, ensure_ascii=False, default=str))

    def load(self, incident_id: str) -> Incident:
        """Read one incident by id."""
        return Incident.from_dict(json.loads(self.path(incident_id).read_text()))

    def all(self) -> list[Incident]:
        """Every stored incident, oldest first."""
        items = []
        for path in sorted(self.folder.glob("INC-*.json")):
            try:
                items.append(Incident.from_dict(json.loads(path.read_text())))
            except (json.JSONDecodeError, TypeError):
                continue
        return sorted(items, key=lambda i: i.detected_at)

    def open_for(self, fingerprint: str) -> Incident | None:
        """The incident still open (alert not resolved) for a fingerprint, if any."""
        return next((i for i in reversed(self.all())
                     if i.fingerprint == fingerprint and i.resolved_at is None), None)

    def page(self, record: dict[str, Any]) -> None:
        """Append one escalation page to ``pages.jsonl``."""
        with open(self.folder / "pages.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def pages(self) -> list[dict[str, Any]]:
        """Every recorded page, oldest first."""
        path = self.folder / "pages.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
