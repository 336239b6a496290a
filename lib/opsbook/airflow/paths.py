"""Airflow's REST paths that are used without the SDK, named once.

Why this module exists: every Airflow call goes through :mod:`opsbook.airflow.client`
(apache-airflow-client), except two cheap probes that must not import the SDK: the health
endpoint (the stack's readiness probe, the blue-green switch, the load generator) and one
authenticated GET the load generator alternates with it. Their paths live here, and no other
module writes an Airflow REST path.
"""

from __future__ import annotations

API_PREFIX = "/api/v2"
"""Prefix of Airflow 3's public REST API."""

HEALTH_PATH = f"{API_PREFIX}/monitor/health"
"""Airflow's health endpoint (no token needed)."""

PROBE_PATH = f"{API_PREFIX}/dags?limit=1"
"""A cheap authenticated GET (the load generator alternates it with the health probe)."""


def health_url(base_url: str) -> str:
    """Health URL of the api-server (or front door, or blue-green slot) at ``base_url``."""
    return f"{base_url.rstrip('/')}{HEALTH_PATH}"
