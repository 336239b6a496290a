"""Airflow's REST API v2 through the official ``apache-airflow-client``, with JWT auth.

Why this module exists: notebooks and tests trigger DAGs, wait for runs, read task instances,
import errors and logs exactly as an operator would, through the public API (never the
metadata DB). Airflow 3 wants a JWT from ``POST /auth/token``; this module gets it with the
course passwords from :mod:`opsbook.settings`, caches one client per (URL, user), and wraps
the few calls the course needs with their traps handled (``logical_date: null`` on trigger,
``dry_run`` defaulting to True on clear).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime

import httpx
from airflow_client import client
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.import_error_api import ImportErrorApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi

from opsbook.airflow.errors import DagImportError, DagRunError, DagRunTimeout, import_problem
from opsbook.settings import settings
from opsbook.waiting import elapsed_bar

TERMINAL_STATES = {"success", "failed"}
"""DAG run states after which a run will not change on its own."""

_CLIENTS: dict[tuple[str, str], client.ApiClient] = {}


def get_token(url: str | None = None, user: str = "admin", password: str | None = None) -> str:
    """A JWT for ``user`` from ``POST <url>/auth/token``.

    Args:
        url: api-server base URL (default: the stack's api-server).
        user: course user (``admin`` or ``student``).
        password: default: the generated password from ``settings.secrets``.

    Raises:
        PermissionError: wrong user or password (Spanish message).
    """
    url = (url or settings.airflow_url).rstrip("/")
    if password is None:
        key = f"password_{user}"
        if key not in settings.secrets:
            raise PermissionError(f"usuario {user!r} desconocido: usa 'admin' o 'student'")
        password = settings.secrets[key]
    body = json.dumps({"username": user, "password": password}).encode()
    req = urllib.request.Request(
        f"{url}/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
            return json.loads(resp.read())["access_token"]
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise PermissionError(f"credenciales rechazadas para {user!r} en {url}") from exc
        raise


def fetch_token(base_url: str, username: str, password: str, timeout_s: float = 10.0) -> str:
    """Get a JWT from Airflow's ``POST /auth/token``.

    Raises:
        RuntimeError: when the server refuses the credentials or does not answer.
    """
    try:
        resp = httpx.post(
            f"{base_url}/auth/token",
            json={"username": username, "password": password},
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        raise RuntimeError(f"no se pudo pedir el token a {base_url}: {exc}") from exc
    if resp.status_code not in (200, 201):
        raise RuntimeError(f"{base_url}/auth/token respondió {resp.status_code}: {resp.text[:200]}")
    return resp.json()["access_token"]


def api_client(url: str | None = None, user: str = "admin") -> client.ApiClient:
    """Authenticated client of the official SDK, cached per (URL, user).

    Args:
        url: api-server base URL (default: ``settings.airflow_url``; pass the front door's URL
            to go through nginx).
        user: course user (``admin`` can write, ``student`` is a viewer).
    """
    url = (url or settings.airflow_url).rstrip("/")
    key = (url, user)
    if key not in _CLIENTS:
        conf = client.Configuration(host=url, access_token=get_token(url, user))
        _CLIENTS[key] = client.ApiClient(conf)
    return _CLIENTS[key]


def unpause(dag_id: str, url: str | None = None, user: str = "admin") -> None:
    """Unpause a DAG (new DAGs are paused at creation; a paused DAG's runs stay queued)."""
    from airflow_client.client.models.dag_patch_body import DAGPatchBody

    DAGApi(api_client(url, user)).patch_dag(
        dag_id, DAGPatchBody(is_paused=False), update_mask=["is_paused"]
    )


def wait_for_dag(dag_id: str, timeout_s: float = 60, url: str | None = None) -> None:
    """Poll until the DAG is parsed and known to the API.

    Raises:
        DagImportError: not parsed before the deadline and a DAG file fails to import (file,
            line and error; the file named like ``dag_id`` first).
        TimeoutError: not parsed before the deadline, with no import error.
    """
    api = DAGApi(api_client(url))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            api.get_dag(dag_id)
            return
        except client.exceptions.NotFoundException as exc:
            if time.monotonic() > deadline:
                problems = [import_problem(e) for e in import_errors(url)]
                mine = [p for p in problems if dag_id in p.file] or problems
                if mine:
                    raise DagImportError(mine, dag_id) from exc
                raise TimeoutError(
                    f"el DAG {dag_id!r} no aparece tras {timeout_s:.0f} s y no hay errores de "
                    "importación: ¿está el fichero en dags/ y el dag-processor en marcha?"
                ) from None
            time.sleep(1)


def trigger_dag(
    dag_id: str,
    conf: dict | None = None,
    url: str | None = None,
    user: str = "admin",
    unpause_first: bool = True,
    run_id: str | None = None,
    logical_date: datetime | None = None,
) -> str:
    """Trigger a DAG run now and return its ``run_id``.

    Args:
        dag_id: the DAG.
        conf: run parameters (``params`` of the DAG).
        url: api-server base URL.
        user: course user (a viewer gets ``ForbiddenException``, HTTP 403).
        unpause_first: unpause the DAG first (paused DAGs never run their runs).
        run_id: the run's id (default: Airflow's ``manual__<time>``).
        logical_date: date the run processes (default none: the run uses its ``run_after``).
    """
    from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

    if unpause_first:
        unpause(dag_id, url, user)
    body = TriggerDAGRunPostBody(logical_date=logical_date, conf=conf or {}, dag_run_id=run_id)
    return DagRunApi(api_client(url, user)).trigger_dag_run(dag_id, body).dag_run_id


def dag_run_state(dag_id: str, run_id: str, url: str | None = None) -> str:
    """Current state of one DAG run (``queued``, ``running``, ``success``, ``failed``)."""
    run = DagRunApi(api_client(url)).get_dag_run(dag_id, run_id)
    return str(getattr(run.state, "value", run.state))


def wait_for_run(
    dag_id: str, run_id: str, timeout_s: float = 180, url: str | None = None, poll_s: float = 1.0,
    expect_success: bool = False,
) -> str:
    """Poll a DAG run until it is ``success`` or ``failed`` (a progress bar in JupyterLab).

    Args:
        dag_id: the DAG.
        run_id: the run.
        timeout_s: deadline in seconds.
        url: api-server base URL.
        poll_s: pause between polls.
        expect_success: raise :class:`DagRunError` when the run fails.

    Returns:
        The terminal state.

    Raises:
        DagRunTimeout: still not finished at the deadline (a ``TimeoutError``; the message has
            the last state and the run's page in the Airflow UI).
        DagRunError: the run failed and ``expect_success`` is set (failed tasks, log links).
    """
    start = time.monotonic()
    bar = elapsed_bar(f"{dag_id} · {run_id}", timeout_s)
    try:
        while True:
            state = dag_run_state(dag_id, run_id, url)
            bar.n = min(time.monotonic() - start, bar.total)
            bar.set_postfix_str(state)
            if state in TERMINAL_STATES:
                break
            if time.monotonic() - start > timeout_s:
                raise DagRunTimeout(dag_id, run_id, state, timeout_s, url)
            time.sleep(poll_s)
    finally:
        bar.close()
    if expect_success and state != "success":
        failed = [ti["task_id"] for ti in task_instances(dag_id, run_id, url)
                  if str(getattr(ti.get("state"), "value", ti.get("state"))) == "failed"]
        raise DagRunError(dag_id, run_id, state, url, failed)
    return state


def task_instances(dag_id: str, run_id: str, url: str | None = None) -> list[dict]:
    """Task instances of one run as plain dicts (``task_id``, ``state``, ``try_number`` …)."""
    resp = TaskInstanceApi(api_client(url)).get_task_instances(dag_id, run_id)
    return [ti.to_dict() for ti in resp.task_instances]


def dag_runs(dag_id: str, limit: int = 50, url: str | None = None) -> list[dict]:
    """Latest DAG runs (newest first) as plain dicts."""
    resp = DagRunApi(api_client(url)).get_dag_runs(dag_id, limit=limit, order_by=["-run_after"])
    return [run.to_dict() for run in resp.dag_runs]


ACTIVE_STATES = {"queued", "running"}
"""DAG run states that are still in flight."""


def settle(dag_id: str, timeout_s: float = 600, url: str | None = None) -> None:
    """Unpause a DAG and wait until it has no run in flight, the scheduler's own included.

    A ``@daily`` DAG with ``catchup=False`` gets a scheduled run for the latest interval as
    soon as it is unpaused. Anything that measures one run's effect (metric deltas, row
    counts) must first let that run finish, or it measures two runs. This waits, bounded,
    for the run the scheduler owes (``next_dagrun_run_after`` in the past) to appear, then
    for every queued/running run to end.

    Raises:
        TimeoutError: runs still in flight at the deadline (Spanish message).
    """
    from datetime import UTC, datetime

    api = DAGApi(api_client(url))
    unpause(dag_id, url)
    deadline = time.monotonic() + timeout_s
    while True:
        due = api.get_dag(dag_id).next_dagrun_run_after
        owed = due is not None and due <= datetime.now(UTC)
        busy = any(
            str(getattr(r["state"], "value", r["state"])) in ACTIVE_STATES
            for r in dag_runs(dag_id, limit=10, url=url)
        )
        if not owed and not busy:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{dag_id!r} sigue con ejecuciones en curso tras {timeout_s:.0f} s: "
                "revisa el scheduler (opsbook stack status)"
            )
        time.sleep(1)


def import_errors(url: str | None = None, bundle_name: str | None = None) -> list[dict]:
    """Current DAG import errors (``filename``, ``bundle_name``, ``stack_trace`` …)."""
    resp = ImportErrorApi(api_client(url)).get_import_errors(limit=100, bundle_name=bundle_name)
    return [err.to_dict() for err in resp.import_errors]


def clear_task_instances(
    dag_id: str,
    run_id: str,
    task_ids: list[str] | None = None,
    dry_run: bool = False,
    only_failed: bool = True,
    url: str | None = None,
) -> list[dict]:
    """Clear task instances so they run again (the API's own default is a dry run!).

    Args:
        dag_id: the DAG.
        run_id: the run whose tasks are cleared.
        task_ids: restrict to these tasks (default: every matching task).
        dry_run: only list what would be cleared.
        only_failed: clear failed tasks only.
        url: api-server base URL.

    Returns:
        The affected task instances as dicts.
    """
    from airflow_client.client.models.clear_task_instances_body import ClearTaskInstancesBody
    from airflow_client.client.models.clear_task_instances_body_task_ids_inner import (
        ClearTaskInstancesBodyTaskIdsInner as TaskId,
    )

    body = ClearTaskInstancesBody(
        dag_run_id=run_id,
        dry_run=dry_run,
        only_failed=only_failed,
        task_ids=[TaskId(t) for t in task_ids] if task_ids else None,
    )
    resp = TaskInstanceApi(api_client(url)).post_clear_task_instances(dag_id, body)
    return [ti.to_dict() for ti in resp.task_instances]


def task_log_tail(
    dag_id: str, run_id: str, task_id: str, try_number: int = 1, lines: int = 20, url=None
) -> list[str]:
    """Last ``lines`` log events of one task try (structured log → plain text lines)."""
    api = TaskInstanceApi(api_client(url))
    raw = api.get_log_without_preload_content(
        dag_id, run_id, task_id, try_number, full_content=True, accept="application/json"
    )
    content = json.loads(raw.data).get("content", [])
    out = []
    for item in content:
        if isinstance(item, dict):
            event = item.get("event", "")
            extra = item.get("error_detail") or ""
            out.append(f"{item.get('level', '')} {event} {extra}".strip())
        else:
            out.append(str(item))
    return out[-lines:]
