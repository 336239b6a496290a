"""One HTTP client per process for the stack's services on 127.0.0.1.

Why this module exists: ``httpx.get()`` and friends build a new ``httpx.Client`` for every
call, and every new client builds an SSL context and loads the CA bundle: ~45 ms of CPU, even
for a plain ``http://127.0.0.1`` URL. The waits of the stack poll health endpoints every
0.5 s (eight URLs per look, ~0.4 s of CPU: most of a core of the 2-core machine while Airflow
starts and needs it), and the alert and notification waits of days 2 and 3 poll too. Here one
client, built on first use, pays that once per process.

It keeps no connection alive between calls (``max_keepalive_connections=0``), exactly like
``httpx.get``: a call after a restart of the api-server (the blue-green deploys and drills of
days 3 and 4) never picks up a dead pooled connection. The load generator keeps its own client
(:mod:`opsbook.deploy.loadgen`), whose connections it manages itself.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

_lock = threading.Lock()
_client: httpx.Client | None = None


def client() -> httpx.Client:
    """The process's shared client (created on first use; httpx clients are thread-safe)."""
    global _client
    with _lock:
        if _client is None or _client.is_closed:
            _client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
        return _client


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request; same arguments and defaults as ``httpx.request`` (timeout 5 s).

    Args:
        method: HTTP method.
        url: full URL.
        **kwargs: ``params``, ``json``, ``content``, ``headers``, ``timeout``,
            ``follow_redirects``... as in httpx.

    Returns:
        The response (not raised for status: call ``raise_for_status()`` as with httpx).
    """
    return client().request(method, url, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """``GET url`` (see :func:`request`)."""
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    """``POST url`` (see :func:`request`)."""
    return request("POST", url, **kwargs)
