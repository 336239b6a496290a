"""Small REST v2 client for DAG runs against ANY api-server URL (blue, green or front door).

Why this module exists: the day-4 experiments and the blue-green deploy talk to a specific
api-server (the green one before it gets traffic, the front door during a deploy) and need
run timings (queued → end) and try numbers per task instance. These few calls, with the JWT
from ``/auth/token`` and the Airflow 3 quirks handled (``logical_date: null`` on trigger,
DAGs paused at creation), are all it takes; no Airflow import, so it is cheap and usable
while the stack is being replaced.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from opsbook.airflow.client import fetch_token
from opsbook.airflow.errors import DagRunTimeout
from opsbook.settings import Settings, settings
from opsbook.waiting import elapsed_bar

TERMINAL = {"success", "failed"}


class DagRunClient:
    """JWT-authenticated client of ``/api/v2`` on one base URL.

    Args:
        base_url: api-server or front-door URL (default: the front door).
        user: course user whose password is read from the generated secrets.
        cfg: settings (secrets).
        timeout_s: per-request timeout.
    """

    def __init__(
        self,
        base_url: str | None = None,
        user: str = "admin",
        cfg: Settings = settings,
        timeout_s: float = 30.0,
    ) -> None:
        self.base_url = (base_url or cfg.front_door_url).rstrip("/")
        token = fetch_token(self.base_url, user, cfg.secrets[f"password_{user}"], timeout_s)
        self.http = httpx.Client(
            base_url=f"{self.base_url}/api/v2",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    def _json(self, method: str, path: str, **kw) -> Any:
        resp = self.http.request(method, path, **kw)
        if resp.status_code >= 300:
            raise RuntimeError(
                f"{method} {self.base_url}/api/v2{path} → {resp.status_code}: {resp.text[:300]}"
            )
        return resp.json()

    def dag_ids(self) -> list[str]:
        """Ids of the DAGs the api-server lists."""
        return [d["dag_id"] for d in self._json("GET", "/dags", params={"limit": 200})["dags"]]

    def unpause(self, dag_id: str) -> None:
        """Unpause ``dag_id`` (DAGs are paused at creation)."""
        self._json("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Unpause and trigger ``dag_id`` now; returns the run id."""
        self.unpause(dag_id)
        body = {"logical_date": None, "conf": conf or {}}
        return self._json("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict:
        """The DAG run JSON (state, queued_at, start_date, end_date ...)."""
        return self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def wait(self, dag_id: str, run_id: str, timeout_s: float = 300, poll_s: float = 1.0) -> dict:
        """Poll the run until it ends or the deadline passes (a progress bar in JupyterLab).

        Raises:
            DagRunTimeout: a ``TimeoutError`` naming the run, its last state and its UI page.
        """
        start = time.monotonic()
        bar = elapsed_bar(f"{dag_id} · {run_id}", timeout_s)
        try:
            while True:
                run = self.run(dag_id, run_id)
                bar.n = min(time.monotonic() - start, bar.total)
                bar.set_postfix_str(str(run["state"]))
                if run["state"] in TERMINAL:
                    return run
                if time.monotonic() - start > timeout_s:
                    raise DagRunTimeout(dag_id, run_id, str(run["state"]), timeout_s,
                                        self.base_url)
                time.sleep(poll_s)
        finally:
            bar.close()

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Task instances of a run (state, try_number, hostname, start/end dates)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return self._json("GET", path, params={"limit": 100})["task_instances"]

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict]:
        """Every try of one task instance (``/tries``), oldest first."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        return self._json("GET", path)["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """Value of one XCom of a task instance (by default what the task returned)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self._json("GET", path)["value"]

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()


def parse_ts(value: str | None) -> datetime | None:
    """Parse an API timestamp (ISO 8601, ``Z`` allowed)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def wall_time_s(run: dict) -> float:
    """Seconds from ``queued_at`` to ``end_date`` of a finished run."""
    queued, end = parse_ts(run.get("queued_at")), parse_ts(run.get("end_date"))
    if queued is None or end is None:
        raise ValueError(f"la ejecución {run.get('dag_run_id')} no ha terminado")
    return (end - queued).total_seconds()
