"""Open-loop HTTP load generator that counts every failed request (day 4 zero-downtime proof).

Why this module exists: "zero downtime" is a measurement, not a claim. During a deploy (and
during the naive restart used as baseline) this generator sends a fixed rate of requests
through the front door — alternating the unauthenticated health endpoint and an authenticated
API call — and records each one: a request fails when it answers non-2xx, cannot connect, or
takes longer than the timeout. Requests are fired on a fixed schedule from a thread pool
(open loop), so a stalled server cannot slow the generator down and hide its own outage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from opsbook.airflow import paths

HEALTH_PATH = paths.HEALTH_PATH
"""Unauthenticated request of the mix."""
API_PATH = paths.PROBE_PATH
"""Authenticated request of the mix (carries the bearer token)."""
DEFAULT_PATHS = (HEALTH_PATH, API_PATH)


@dataclass
class Sample:
    """One request: when it was sent (s since start), what, and how it ended."""

    t: float
    path: str
    status: int | None
    latency_s: float
    ok: bool
    error: str = ""


@dataclass
class LoadReport:
    """Every sample of one load run plus named time marks (deploy steps)."""

    rate: float
    timeout_s: float
    started_at: float
    samples: list[Sample] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[Sample]:
        """Samples that failed (non-2xx, connection error or timeout)."""
        return [s for s in self.samples if not s.ok]

    def percentile(self, q: float) -> float:
        """Latency percentile ``q`` (0–100) in seconds over every sample (nearest rank)."""
        values = sorted(s.latency_s for s in self.samples)
        if not values:
            return float("nan")
        rank = max(0, min(len(values) - 1, round(q / 100 * len(values) + 0.5) - 1))
        return values[rank]

    def longest_outage_s(self) -> float:
        """Longest span between the first and last failure of a run of consecutive failures."""
        longest, start = 0.0, None
        for s in sorted(self.samples, key=lambda s: s.t):
            if not s.ok:
                start = s.t if start is None else start
                longest = max(longest, s.t - start + s.latency_s)
            else:
                start = None
        return longest

    def summary(self) -> dict:
        """Counts, achieved rate and latency percentiles (ms) as a JSON-ready dict."""
        duration = max((s.t for s in self.samples), default=0.0)
        errors: dict[str, int] = {}
        for s in self.failed:
            key = s.error or f"http_{s.status}"
            errors[key] = errors.get(key, 0) + 1
        return {
            "requests": len(self.samples),
            "failed": len(self.failed),
            "duration_s": round(duration, 1),
            "achieved_rate": round(len(self.samples) / duration, 1) if duration else 0.0,
            "p50_ms": round(self.percentile(50) * 1000, 1),
            "p95_ms": round(self.percentile(95) * 1000, 1),
            "p99_ms": round(self.percentile(99) * 1000, 1),
            "max_ms": round(max((s.latency_s for s in self.samples), default=0) * 1000, 1),
            "longest_outage_s": round(self.longest_outage_s(), 1),
            "errors": errors,
        }

    def frame(self):
        """Samples as a pandas DataFrame (one row per request) for charts."""
        import pandas as pd

        return pd.DataFrame([s.__dict__ for s in self.samples])


class LoadGenerator:
    """Fire ``rate`` requests per second at ``base_url`` until stopped.

    Use as a context manager (``with LoadGenerator(...) as load: ...``) or call
    :meth:`start` / :meth:`stop`. Paths are used in turn; every path except the health one
    carries the bearer token.

    Args:
        base_url: e.g. the front door ``http://127.0.0.1:8088``.
        token: JWT for the authenticated calls (None: no Authorization header).
        rate: requests per second (≥ 1).
        timeout_s: a request slower than this counts as failed.
        paths: request paths used in round robin.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        rate: float = 20.0,
        timeout_s: float = 2.0,
        paths: Sequence[str] = DEFAULT_PATHS,
    ) -> None:
        if rate < 1:
            raise ValueError(f"rate={rate} inválido: usa al menos 1 petición por segundo")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s={timeout_s} inválido: usa un número positivo")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.rate = rate
        self.timeout_s = timeout_s
        self.paths = list(paths)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=int(rate * timeout_s * 2) + 8)
        # No keep-alive: every request opens a new connection, as independent clients do.
        self._client = httpx.Client(
            timeout=timeout_s, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.report = LoadReport(rate=rate, timeout_s=timeout_s, started_at=time.time())

    def _one(self, t: float, path: str) -> None:
        headers = {}
        if self.token and path != HEALTH_PATH:
            headers["Authorization"] = f"Bearer {self.token}"
        start = time.perf_counter()
        status, error = None, ""
        try:
            resp = self._client.get(self.base_url + path, headers=headers)
            status = resp.status_code
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        latency = time.perf_counter() - start
        ok = status is not None and 200 <= status < 300 and latency <= self.timeout_s
        if status is not None and latency > self.timeout_s:
            error = "timeout"
        with self._lock:
            self.report.samples.append(Sample(t, path, status, latency, ok, error))

    def _loop(self) -> None:
        t0 = time.perf_counter()
        self.report.started_at = time.time()
        i = 0
        while not self._stop.is_set():
            due = t0 + i / self.rate
            delay = due - time.perf_counter()
            if delay > 0 and self._stop.wait(delay):
                break
            self._pool.submit(self._one, due - t0, self.paths[i % len(self.paths)])
            i += 1

    def mark(self, label: str) -> None:
        """Record a named instant (e.g. a deploy step) on the load timeline."""
        with self._lock:
            self.report.marks.append((time.time() - self.report.started_at, label))

    def start(self) -> LoadGenerator:
        """Start firing requests in a background thread."""
        self._thread = threading.Thread(target=self._loop, name="loadgen", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> LoadReport:
        """Stop firing, wait for the in-flight requests and return the report."""
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._pool.shutdown(wait=True)
        self._client.close()
        with self._lock:
            self.report.samples.sort(key=lambda s: s.t)
        return self.report

    def __enter__(self) -> LoadGenerator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
