"""Prometheus queries as pandas DataFrames (``prometheus-api-client``).

Why this module exists: the notebooks, the live tests and the benchmarks ask Prometheus the
signals of :mod:`opsbook.observability.signals` and want tables, not JSON. This wraps the
official-ish client (``PrometheusConnect`` + ``MetricSnapshotDataFrame`` /
``MetricRangeDataFrame``), turns API
errors into one Spanish exception, and offers :func:`wait_for` — polling with a deadline, the
only way a test or a notebook waits for Prometheus (never a sleep).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pandas as pd
from prometheus_api_client import (
    MetricRangeDataFrame,
    MetricSnapshotDataFrame,
    PrometheusApiClientException,
    PrometheusConnect,
)

from opsbook import loopback
from opsbook.errors import StudentError
from opsbook.observability import signals
from opsbook.settings import settings
from opsbook.waiting import WaitTimeout, wait_until


class PromQueryError(StudentError):
    """Prometheus refused or could not answer a query (message in Spanish)."""


class PromQLError(PromQueryError):
    """Prometheus rejected the expression itself: the message is Prometheus's own error text.

    Attributes:
        expr: the expression as written.
        prometheus_error: Prometheus's ``error`` field (``1:24: parse error: …``).
    """

    def __init__(self, expr: str, prometheus_error: str):
        self.expr, self.prometheus_error = expr, prometheus_error
        lines = [f"Prometheus rechazó la PromQL: {prometheus_error}", f"    {expr}"]
        where = re.match(r"(\d+):(\d+):", prometheus_error)
        if where and int(where.group(1)) == 1 and "\n" not in expr:
            lines.append("    " + " " * (int(where.group(2)) - 1) + "^")
        super().__init__("\n".join(lines))


def prometheus_error(exc: Exception) -> str | None:
    """Prometheus's own ``error`` text inside a client exception (None when it has none)."""
    match = re.search(r"(\{.*\})", str(exc))
    if not match:
        return None
    try:
        body = json.loads(match.group(1).encode().decode("unicode_escape"))
    except ValueError:
        return None
    text = str(body.get("error") or "").strip()
    return re.sub(r'^invalid parameter "query":\s*', "", text) or None


def client(url: str | None = None) -> PrometheusConnect:
    """Return a client of the stack's Prometheus (or ``url``)."""
    return PrometheusConnect(url=url or settings.prometheus_url, disable_ssl=True)


def _call(fn: Callable[[], Any], expr: str) -> Any:
    try:
        return fn()
    except PrometheusApiClientException as exc:
        text = prometheus_error(exc)
        if text and "bad_data" in str(exc):
            raise PromQLError(expr, text) from exc
        raise PromQueryError(f"Prometheus rechazó la consulta {expr!r}: {text or exc}") from exc
    except OSError as exc:  # requests' ConnectionError is an OSError
        raise PromQueryError(
            f"Prometheus no responde en {settings.prometheus_url}: arranca el stack con "
            "`make stack-up`.") from exc


def raw_query(expr: str, url: str | None = None,
              at: float | None = None) -> list[dict[str, Any]]:
    """Run an instant query and return Prometheus's ``result`` list (vector samples).

    A scalar result is returned as one sample without labels.

    Args:
        expr: PromQL expression.
        url: Prometheus base URL (default: the stack's).
        at: evaluation instant (Unix seconds; default: now).
    """
    params = None if at is None else {"time": repr(float(at))}
    result = _call(lambda: client(url).custom_query(query=expr, params=params), expr)
    if result and not isinstance(result[0], dict):  # scalar / string: [ts, value]
        result = [{"metric": {}, "value": result}]
    return result


def query(expr: str, url: str | None = None, at: float | None = None) -> pd.DataFrame:
    """Instant query → one row per series (label columns, ``timestamp``, float ``value``).

    Args:
        expr: PromQL expression.
        url: Prometheus base URL (default: the stack's).
        at: evaluation instant (Unix seconds; default: now), e.g. just after a past run.

    Returns:
        The samples; an empty frame with ``timestamp``/``value`` columns when there are none.

    Raises:
        PromQLError: the expression does not parse (Prometheus's own error text).
        PromQueryError: Prometheus unreachable or another refusal.
    """
    result = raw_query(expr, url, at)
    if not result:
        return pd.DataFrame({"timestamp": pd.Series(dtype="datetime64[ns]"),
                             "value": pd.Series(dtype="float64")})
    return MetricSnapshotDataFrame(result).reset_index(drop=True)


def _ts(value: datetime | float | pd.Timestamp) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def query_range(expr: str, start: datetime | float, end: datetime | float | None = None,
                step: str = "1s", url: str | None = None) -> pd.DataFrame:
    """Range query → long frame indexed by ``timestamp`` (label columns + ``value``).

    Args:
        expr: PromQL expression.
        start: first instant (datetime, pandas Timestamp or Unix seconds).
        end: last instant (default: now).
        step: resolution (Prometheus duration, e.g. ``"1s"``, ``"15s"``).
        url: Prometheus base URL (default: the stack's).

    Raises:
        PromQueryError: invalid expression or Prometheus unreachable.
    """
    end_dt = _ts(end) if end is not None else datetime.now(tz=UTC)
    result = _call(lambda: client(url).custom_query_range(
        query=expr, start_time=_ts(start), end_time=end_dt, step=step), expr)
    if not result:
        return pd.DataFrame({"value": pd.Series(dtype="float64")},
                            index=pd.DatetimeIndex([], name="timestamp"))
    return MetricRangeDataFrame(result)


def wait_for(expr: str, predicate: Callable[[pd.DataFrame], bool] | None = None,
             timeout_s: float = 60.0, interval_s: float = 0.5,
             url: str | None = None) -> pd.DataFrame:
    """Poll an instant query until ``predicate(frame)`` holds, with a deadline.

    Args:
        expr: PromQL expression.
        predicate: condition on the result frame (default: at least one sample).
        timeout_s: deadline in seconds.
        interval_s: pause between polls.
        url: Prometheus base URL (default: the stack's).

    Returns:
        The first frame satisfying the predicate.

    Raises:
        WaitTimeout: a ``TimeoutError`` with the last result seen, when the deadline passes.
        PromQLError: the expression does not parse (at once, never retried).
        PromQueryError: Prometheus still unreachable at the deadline.
    """
    check = predicate or (lambda frame: not frame.empty)

    def attempt() -> pd.DataFrame | PromQueryError:
        try:
            return query(expr, url)
        except PromQLError:
            raise  # a wrong expression never becomes right by waiting
        except PromQueryError as exc:
            return exc  # not yet (Prometheus restarting): shown as the last state

    try:
        return wait_until(attempt, timeout_s, interval_s, f"{expr!r} cumpla la condición",
                          until=lambda got: isinstance(got, pd.DataFrame) and check(got))
    except WaitTimeout as exc:
        last = exc.last
        if isinstance(last, PromQueryError):
            raise last from last.__cause__  # still unreachable: the message says why
        shown = "vacío" if last is None or last.empty else last.to_string(max_rows=5)
        raise WaitTimeout(exc.what, shown, timeout_s) from None


def wait_scraped(after: float | None = None, job: str = signals.BRIDGE_JOB,
                 timeout_s: float = 30.0, url: str | None = None) -> float:
    """Wait for a scrape of ``job`` taken after ``after``, so what happened before is counted.

    A task's StatsD packet reaches the bridge at once, but Prometheus only sees it at its next
    scrape (every second). A counter read right after a run ends can miss that run's last
    increments; the next difference then counts them twice. Call this once the runs to be
    counted are over and before reading "before" values.

    Args:
        after: Unix time the scrape must follow (default: now).
        job: scrape job (default: the StatsD bridge, where the pipeline metrics live).
        timeout_s: deadline in seconds.
        url: Prometheus base URL (default: the stack's).

    Returns:
        The Unix time of that scrape.

    Raises:
        WaitTimeout: no such scrape in ``timeout_s`` (the target is down: see its ``up``).
    """
    since = time.time() if after is None else after
    frame = wait_for(signals.last_scrape(job),
                     lambda f: not f.empty and f["value"].min() > since, timeout_s, url=url)
    return float(frame["value"].min())


def ready(url: str | None = None, timeout_s: float = 2.0) -> bool:
    """True when Prometheus answers ``/-/ready``."""
    try:
        return loopback.get(f"{url or settings.prometheus_url}/-/ready",
                            timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def value(expr: str, default: float | None = None, url: str | None = None) -> float | None:
    """Single number of an instant query (sum of every sample), or ``default`` when empty."""
    frame = query(expr, url)
    return float(frame["value"].sum()) if not frame.empty else default
