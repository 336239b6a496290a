"""DAG runs on ANY api-server URL (blue, green or front door), with their timings.

Why this module exists: the day-4 experiments and the blue-green deploy talk to a specific
api-server (the green one before it gets traffic, the front door during a deploy) and need
run timings (queued → end) and try numbers per task instance. :class:`DagRunClient` binds the
calls of :mod:`opsbook.airflow.client` (the one REST client) to one base URL; the helpers
below turn a finished run into seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsbook.airflow import client as api
from opsbook.settings import Settings, settings

TERMINAL = api.TERMINAL_STATES


class DagRunClient:
    """The REST client's DAG-run calls bound to one base URL (JWT of ``user``).

    Args:
        base_url: api-server or front-door URL (default: the front door).
        user: course user whose password is read from the generated secrets.
        cfg: settings (front door URL).
        timeout_s: timeout of the token request (the server must answer it).
    """

    def __init__(
        self,
        base_url: str | None = None,
        user: str = "admin",
        cfg: Settings = settings,
        timeout_s: float = 30.0,
    ) -> None:
        self.base_url = (base_url or cfg.front_door_url).rstrip("/")
        api.forget(self.base_url)  # a slot's server may have restarted since the last token
        api.api_client(self.base_url, user, timeout_s)  # log in now: fail here, not mid-run

    def dag_ids(self) -> list[str]:
        """Ids of the DAGs the api-server lists."""
        return api.dag_ids(self.base_url)

    def dag(self, dag_id: str) -> dict:
        """The DAG's JSON (``is_paused``, ``bundle_version`` …); raises ``api.NotFound``."""
        return api.get_dag(dag_id, self.base_url)

    def unpause(self, dag_id: str) -> None:
        """Unpause ``dag_id`` (DAGs are paused at creation)."""
        api.unpause(dag_id, self.base_url)

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Unpause and trigger ``dag_id`` now; returns the run id."""
        return api.trigger_dag(dag_id, conf, self.base_url)

    def trigger_alone(self, dag_id: str, conf: dict | None = None) -> str:
        """Trigger ``dag_id`` after failing any run an earlier, interrupted use left in flight.

        For experiments that own their DAG (the fan-outs, ``max_active_runs=1``): a run stuck
        from an earlier notebook run would otherwise block this one.
        """
        api.fail_active_runs(dag_id, self.base_url)
        return self.trigger(dag_id, conf)

    def run(self, dag_id: str, run_id: str) -> dict:
        """The DAG run JSON (state, queued_at, start_date, end_date ...)."""
        return api.dag_run(dag_id, run_id, self.base_url)

    def wait(self, dag_id: str, run_id: str, timeout_s: float = 300, poll_s: float = 1.0) -> dict:
        """Poll the run until it ends or the deadline passes (a progress bar in JupyterLab).

        Raises:
            DagRunTimeout: a ``TimeoutError`` naming the run, its last state and its UI page.
        """
        return api.wait_run(dag_id, run_id, timeout_s, self.base_url, poll_s)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Task instances of a run (state, try_number, hostname, start/end dates)."""
        return api.task_instances(dag_id, run_id, self.base_url)

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict]:
        """Every try of one task instance (``/tries``), oldest first."""
        return api.task_instance_tries(dag_id, run_id, task_id, self.base_url)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value",
             deserialize: bool = False) -> Any:
        """Value of one XCom of a task instance (by default what the task returned)."""
        return api.xcom_value(dag_id, run_id, task_id, key, self.base_url, deserialize)

    def close(self) -> None:
        """Forget this URL's cached SDK client (the slot may go away)."""
        api.forget(self.base_url)


def parse_ts(value: str | datetime | None) -> datetime | None:
    """Parse an API timestamp (ISO 8601, ``Z`` allowed; a datetime is returned as is)."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def wall_time_s(run: dict) -> float:
    """Seconds from ``queued_at`` to ``end_date`` of a finished run."""
    queued, end = parse_ts(run.get("queued_at")), parse_ts(run.get("end_date"))
    if queued is None or end is None:
        raise ValueError(f"la ejecución {run.get('dag_run_id')} no ha terminado")
    return (end - queued).total_seconds()
