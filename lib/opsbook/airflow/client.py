"""The one Airflow REST API v2 client: the official ``apache-airflow-client`` behind functions.

Why this module exists: notebooks, tests, drills, the blue-green deploy and the day-4
experiments trigger DAGs, wait for runs and read task instances, import errors, XComs and logs
exactly as an operator would, through the public API (never the metadata DB). Every module
goes through these functions, so only this module knows the SDK, the REST paths and Airflow's
traps (a JWT from ``POST /auth/token``; ``logical_date: null`` on trigger; ``dry_run``
defaulting to True on clear; new DAGs paused at creation).

Every function takes ``url``: the api-server's base URL (default: this stack's
``settings.airflow_url``), so the same calls reach a green slot before it gets traffic or the
front door during a swap. Results are plain dicts shaped like the REST JSON (ISO timestamps,
state names as strings), ready to compare, store or serialise.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from airflow_client import client
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.import_error_api import ImportErrorApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi
from airflow_client.client.api.x_com_api import XComApi
from airflow_client.client.models.clear_task_instances_body import ClearTaskInstancesBody
from airflow_client.client.models.clear_task_instances_body_task_ids_inner import (
    ClearTaskInstancesBodyTaskIdsInner,
)
from airflow_client.client.models.dag_patch_body import DAGPatchBody
from airflow_client.client.models.dag_run_clear_body import DAGRunClearBody
from airflow_client.client.models.dag_run_patch_body import DAGRunPatchBody
from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

from opsbook import loopback
from opsbook.airflow.errors import DagImportError, DagRunError, DagRunTimeout, import_problem
from opsbook.settings import settings
from opsbook.waiting import WaitTimeout, elapsed_bar, wait_until

TERMINAL_STATES = {"success", "failed"}
"""DAG run states after which a run will not change on its own."""

ACTIVE_STATES = {"queued", "running"}
"""DAG run states that are still in flight."""

ApiError = client.exceptions.ApiException
"""Any non-2xx answer of the API (``.status`` has the HTTP code)."""

NotFound = client.exceptions.NotFoundException
"""HTTP 404: the DAG, run or task instance is not (yet) known."""

Forbidden = client.exceptions.ForbiddenException
"""HTTP 403: the user's role may not do this (``student`` is a viewer)."""

_CLIENTS: dict[tuple[str, str], client.ApiClient] = {}


def _base(url: str | None) -> str:
    return (url or settings.airflow_url).rstrip("/")


def _plain(model: Any) -> dict[str, Any]:
    """An SDK model as the REST JSON would show it (strings for dates and states)."""
    return model.model_dump(mode="json", by_alias=True)


def get_token(
    url: str | None = None, user: str = "admin", password: str | None = None,
    timeout_s: float = 30.0,
) -> str:
    """A JWT for ``user`` from ``POST <url>/auth/token``.

    Args:
        url: api-server base URL (default: the stack's api-server).
        user: course user (``admin`` or ``student``).
        password: default: the generated password from ``settings.secrets``.
        timeout_s: request timeout.

    Raises:
        PermissionError: unknown user, or credentials refused (Spanish message).
        RuntimeError: the server did not answer or answered an error (Spanish message).
    """
    url = _base(url)
    if password is None:
        key = f"password_{user}"
        if key not in settings.secrets:
            raise PermissionError(f"usuario {user!r} desconocido: usa 'admin' o 'student'")
        password = settings.secrets[key]
    try:
        resp = loopback.post(f"{url}/auth/token", json={"username": user, "password": password},
                             timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise RuntimeError(f"no se pudo pedir el token a {url}: {exc}") from exc
    if resp.status_code in (401, 403):
        raise PermissionError(f"credenciales rechazadas para {user!r} en {url} "
                              f"(HTTP {resp.status_code})")
    if resp.status_code not in (200, 201):
        raise RuntimeError(f"{url}/auth/token respondió {resp.status_code}: {resp.text[:200]}")
    return resp.json()["access_token"]


def api_client(
    url: str | None = None, user: str = "admin", token_timeout_s: float = 30.0
) -> client.ApiClient:
    """Authenticated client of the official SDK, cached per (URL, user).

    Args:
        url: api-server base URL (default: ``settings.airflow_url``; pass the front door's or a
            green slot's URL to reach that server).
        user: course user (``admin`` can write, ``student`` is a viewer).
        token_timeout_s: timeout of the token request when the client is first built.
    """
    key = (_base(url), user)
    if key not in _CLIENTS:
        token = get_token(key[0], user, timeout_s=token_timeout_s)
        conf = client.Configuration(host=key[0], access_token=token)
        _CLIENTS[key] = client.ApiClient(conf)
    return _CLIENTS[key]


def forget(url: str | None = None) -> None:
    """Drop the cached clients of ``url`` (its server restarted or its secrets changed)."""
    for key in [k for k in _CLIENTS if k[0] == _base(url)]:
        _CLIENTS.pop(key)


def dag_ids(url: str | None = None) -> list[str]:
    """Ids of the DAGs the api-server lists (at most 200)."""
    return [d.dag_id for d in DAGApi(api_client(url)).get_dags(limit=200).dags]


def get_dag(dag_id: str, url: str | None = None) -> dict[str, Any]:
    """One DAG (``is_paused``, ``bundle_version``, ``next_dagrun_run_after`` …).

    Raises:
        NotFound: the DAG is not parsed (yet).
    """
    return _plain(DAGApi(api_client(url)).get_dag(dag_id))


def unpause(dag_id: str, url: str | None = None, user: str = "admin") -> None:
    """Unpause a DAG (new DAGs are paused at creation; a paused DAG's runs stay queued)."""
    DAGApi(api_client(url, user)).patch_dag(
        dag_id, DAGPatchBody(is_paused=False), update_mask=["is_paused"]
    )


def wait_for_dag(dag_id: str, timeout_s: float = 60, url: str | None = None) -> None:
    """Poll until the DAG is parsed and known to the API.

    Raises:
        DagImportError: not parsed before the deadline and a DAG file fails to import (file,
            line and error; the file named like ``dag_id`` first).
        WaitTimeout: not parsed before the deadline, with no import error (a ``TimeoutError``).
    """
    try:
        wait_until(lambda: get_dag(dag_id, url), timeout_s, 1.0,
                   f"el DAG {dag_id!r} aparezca en la API", retry_on=(NotFound,))
    except WaitTimeout as exc:
        problems = [import_problem(e) for e in import_errors(url)]
        mine = [p for p in problems if dag_id in p.file] or problems
        if mine:
            raise DagImportError(mine, dag_id) from exc
        raise WaitTimeout(f"el DAG {dag_id!r} no aparece y no hay errores de importación: ¿está "
                          "el fichero en dags/ y el dag-processor en marcha?", exc.last,
                          timeout_s) from None


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
        user: course user (a viewer gets :data:`Forbidden`, HTTP 403).
        unpause_first: unpause the DAG first (paused DAGs never run their runs).
        run_id: the run's id (default: Airflow's ``manual__<time>``).
        logical_date: date the run processes (default none: the run uses its ``run_after``).
    """
    if unpause_first:
        unpause(dag_id, url, user)
    body = TriggerDAGRunPostBody(logical_date=logical_date, conf=conf or {}, dag_run_id=run_id)
    return DagRunApi(api_client(url, user)).trigger_dag_run(dag_id, body).dag_run_id


def dag_run(dag_id: str, run_id: str, url: str | None = None) -> dict[str, Any]:
    """One DAG run (``state``, ``queued_at``, ``start_date``, ``end_date``, ``conf`` …)."""
    return _plain(DagRunApi(api_client(url)).get_dag_run(dag_id, run_id))


def dag_run_state(dag_id: str, run_id: str, url: str | None = None) -> str:
    """Current state of one DAG run (``queued``, ``running``, ``success``, ``failed``)."""
    return dag_run(dag_id, run_id, url)["state"]


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

    def state_shown() -> str:
        state = dag_run_state(dag_id, run_id, url)
        bar.n = min(time.monotonic() - start, bar.total)
        bar.set_postfix_str(state)
        return state

    try:
        state = wait_until(state_shown, timeout_s, poll_s,
                           f"la ejecución {dag_id}/{run_id} termine",
                           until=lambda state: state in TERMINAL_STATES)
    except WaitTimeout as exc:
        raise DagRunTimeout(dag_id, run_id, str(exc.last), timeout_s, url) from None
    finally:
        bar.close()
    if expect_success and state != "success":
        failed = [ti["task_id"] for ti in task_instances(dag_id, run_id, url)
                  if ti.get("state") == "failed"]
        raise DagRunError(dag_id, run_id, state, url, failed)
    return state


def wait_run(
    dag_id: str, run_id: str, timeout_s: float = 180, url: str | None = None, poll_s: float = 1.0
) -> dict[str, Any]:
    """Like :func:`wait_for_run`, but returns the finished run (for its timings)."""
    wait_for_run(dag_id, run_id, timeout_s, url, poll_s)
    return dag_run(dag_id, run_id, url)


def task_instances(dag_id: str, run_id: str, url: str | None = None) -> list[dict[str, Any]]:
    """Task instances of one run (``task_id``, ``state``, ``try_number``, dates, ``hostname``)."""
    resp = TaskInstanceApi(api_client(url)).get_task_instances(dag_id, run_id, limit=100)
    return [_plain(ti) for ti in resp.task_instances]


def task_instance_tries(
    dag_id: str, run_id: str, task_id: str, url: str | None = None
) -> list[dict[str, Any]]:
    """Every try of one task instance, oldest first (state, start/end dates)."""
    resp = TaskInstanceApi(api_client(url)).get_task_instance_tries(dag_id, run_id, task_id)
    return [_plain(ti) for ti in resp.task_instances]


def xcom_value(
    dag_id: str, run_id: str, task_id: str, key: str = "return_value",
    url: str | None = None, deserialize: bool = False,
) -> Any:
    """Value of one XCom of a task instance (by default what the task returned).

    Read raw: the SDK's one-of response model cannot tell a string value from a native one.
    """
    raw = XComApi(api_client(url)).get_xcom_entry_without_preload_content(
        dag_id, task_id, run_id, key, deserialize=deserialize or None
    )
    if raw.status >= 300:  # the typed exception (NotFound …) the SDK would raise
        ApiError.from_response(http_resp=raw, body=raw.data.decode()[:300], data=None)
    return json.loads(raw.data)["value"]


def dag_runs(dag_id: str, limit: int = 50, url: str | None = None,
             states: set[str] | None = None) -> list[dict[str, Any]]:
    """Latest DAG runs, newest first (``dag_id="~"``: of every DAG; ``states``: only those)."""
    resp = DagRunApi(api_client(url)).get_dag_runs(dag_id, limit=limit, order_by=["-run_after"],
                                                   state=sorted(states) if states else None)
    return [_plain(run) for run in resp.dag_runs]


def _idle(dag_id: str, url: str | None) -> bool:
    due = DAGApi(api_client(url)).get_dag(dag_id).next_dagrun_run_after
    owed = due is not None and due <= datetime.now(UTC)
    return not owed and not dag_runs(dag_id, limit=1, url=url, states=ACTIVE_STATES)


def fail_active_runs(dag_id: str, url: str | None = None) -> list[str]:
    """Mark every queued/running run of ``dag_id`` failed; returns their run ids.

    Such a run is a leftover of an interrupted use: with ``max_active_runs=1`` it blocks the next.
    The API filters by state, so a stuck run older than the newest runs is found too.
    """
    stuck = [r["dag_run_id"] for r in dag_runs(dag_id, 100, url, states=ACTIVE_STATES)]
    runs_api = DagRunApi(api_client(url))
    for run_id in stuck:
        runs_api.patch_dag_run(dag_id, run_id, DAGRunPatchBody(state="failed"))
    return stuck


def settle(dag_id: str, timeout_s: float = 600, url: str | None = None) -> None:
    """Unpause a DAG and wait until it has no run in flight, the scheduler's own included.

    A ``@daily`` DAG with ``catchup=False`` gets a scheduled run for the latest interval as
    soon as it is unpaused. Anything that measures one run's effect (metric deltas, row
    counts) must first let that run finish, or it measures two runs. This waits, bounded,
    for the run the scheduler owes (``next_dagrun_run_after`` in the past) to appear, then
    for every queued/running run to end.

    Raises:
        WaitTimeout: runs still in flight at the deadline (a ``TimeoutError``).
    """
    unpause(dag_id, url)
    wait_until(lambda: _idle(dag_id, url), timeout_s, 1.0,
               f"{dag_id!r} sin ejecuciones en curso (revisa el scheduler: opsbook stack status)")


def import_errors(url: str | None = None, bundle_name: str | None = None) -> list[dict]:
    """Current DAG import errors (``filename``, ``bundle_name``, ``stack_trace`` …)."""
    resp = ImportErrorApi(api_client(url)).get_import_errors(limit=100, bundle_name=bundle_name)
    return [_plain(err) for err in resp.import_errors]


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
        The affected task instances.
    """
    body = ClearTaskInstancesBody(
        dag_run_id=run_id,
        dry_run=dry_run,
        only_failed=only_failed,
        task_ids=[ClearTaskInstancesBodyTaskIdsInner(t) for t in task_ids] if task_ids else None,
    )
    resp = TaskInstanceApi(api_client(url)).post_clear_task_instances(dag_id, body)
    return [_plain(ti) for ti in resp.task_instances]


def clear_dag_run(dag_id: str, run_id: str, only_failed: bool = False,
                  url: str | None = None) -> None:
    """Clear a whole DAG run so every (or every failed) task runs again (never a dry run)."""
    DagRunApi(api_client(url)).clear_dag_run(
        dag_id, run_id, DAGRunClearBody(dry_run=False, only_failed=only_failed)
    )


def task_log_tail(
    dag_id: str, run_id: str, task_id: str, try_number: int = 1, lines: int = 20,
    url: str | None = None,
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
