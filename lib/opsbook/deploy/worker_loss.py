"""Losing a Celery worker, two ways: retired politely (warm shutdown) or killed (``kill -9``).

Why this module exists: horizontal scaling is only useful if workers can come and go. Day 4
shows both ends on the live Celery-mode stack. :func:`warm_shutdown_experiment` removes a
worker with :func:`opsbook.stack.celery_scale.scale` while it runs tasks: it stops taking new ones
and finishes the running ones (one try each, nothing retried). :func:`worker_kill_experiment`
kills a worker with ``kill -9`` in the middle of a run, cleans its orphaned children by pid,
and measures how long the scheduler takes to notice (heartbeat timeout) and to retry the lost
tasks on the other worker, checking that no task ran to success twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import psutil

from opsbook.airflow.dagruns import DagRunClient, parse_ts, wall_time_s
from opsbook.settings import Settings, settings
from opsbook.stack import celery_mode, celery_scale, control
from opsbook.waiting import wait_until

TASK_TITLE = "airflow worker -- "
"""Process title of a running task (followed by its task-instance id) under a Celery worker."""

DAG_ID = "fanout_io"
"""The drills run the I/O fan-out: ``active`` tasks sleep, the others end at once."""


def tasks_on(proc: psutil.Process) -> dict[str, int]:
    """Task-instance ids running under a worker process → pid of their task process."""
    found = {}
    for child in proc.children(recursive=True):
        try:
            title = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if title.startswith(TASK_TITLE):
            found[title[len(TASK_TITLE):].strip()] = child.pid
    return found


def kill_worker_tree(pid: int) -> dict:
    """``kill -9`` a worker's main process, then its orphaned children, each by pid.

    Returns:
        ``{"main_pid", "orphans": [pids], "survivors": [pids]}`` (survivors should be empty).
    """
    # SIGKILL for the orphans too (grace 0): the whole worker machine "dies" at once; the
    # process group also catches a pool child forked while the tree was being read, and the
    # sweep a task runner forked then (Airflow puts each in a process group of its own)
    report = control.kill_and_sweep(pid, grace_s=0)
    return {"main_pid": pid, "orphans": [o["pid"] for o in report["orphans"]],
            "survivors": report["survivors"]}


def _wait_for_tasks_on(proc: psutil.Process, min_running_s: float, timeout_s: float,
                       of_run: Callable[[], set[str]] | None = None) -> dict:
    """Wait until ``proc`` runs tasks (of the run, when ``of_run`` lists its TI ids)."""
    first_seen: list[float] = []

    def running_long_enough() -> dict:
        running = tasks_on(proc)
        if of_run is not None and running:
            # a pool process keeps the title of an earlier task: count only this run's
            ids = of_run()
            running = {ti: pid for ti, pid in running.items() if ti in ids}
        if running and not first_seen:
            first_seen.append(time.monotonic())
        return running if running and time.monotonic() - first_seen[0] >= min_running_s else {}

    return wait_until(running_long_enough, timeout_s, 0.3,
                      f"el worker {proc.pid} ejecute tareas durante {min_running_s:g} s")


def _running_ids(client: DagRunClient, run_id: str) -> set[str]:
    """Ids of the task instances of one fan-out run that are running now."""
    return {t["id"] for t in client.task_instances(DAG_ID, run_id) if t["state"] == "running"}


def _since(t0: datetime, value: str | None) -> float | None:
    ts = parse_ts(value)
    return round((ts - t0).total_seconds(), 1) if ts else None


def _worker_process(n: int, cfg: Settings) -> psutil.Process:
    from opsbook.stack import lifecycle as stack

    return psutil.Process(stack.component_pid(celery_mode.worker_name(n), cfg))


def warm_shutdown_experiment(
    sleep_s: float = 6.0, cfg: Settings = settings, timeout_s: float = 300.0
) -> dict:
    """Scale 2 → 1 workers while worker 2 runs tasks: they finish, nothing is retried.

    Same call as ``opsbook stack scale --workers 1``: the removed worker gets SIGTERM (Celery
    warm shutdown), stops taking tasks and exits once its running tasks end.

    Args:
        sleep_s: duration of each sleeping task (it must still run when the scale starts).
        cfg: settings.
        timeout_s: deadline for the run to finish.

    Returns:
        ``{"run_id", "state", "removed", "stop_s", "worker_exited", "tasks": {task_id:
        {"state", "try_number"}}}`` for the tasks that were running on worker 2.
    """
    celery_scale.scale(2, celery_mode.DEFAULT_CONCURRENCY, cfg)
    proc = _worker_process(2, cfg)
    client = DagRunClient(cfg=cfg)
    try:
        run_id = client.trigger_alone(DAG_ID, {"sleep_s": sleep_s, "active": 4})
        running = _wait_for_tasks_on(
            proc, min_running_s=1.0, timeout_s=120,
            of_run=lambda: _running_ids(client, run_id))
        t0 = time.monotonic()
        scaled = celery_scale.scale(1, celery_mode.DEFAULT_CONCURRENCY, cfg)
        stop_s = time.monotonic() - t0
        exited = not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
        run = client.wait(DAG_ID, run_id, timeout_s)
        tis = client.task_instances(DAG_ID, run_id)
    finally:
        client.close()
    return {
        "run_id": run_id,
        "state": run["state"],
        "removed": scaled["removed"],
        "stop_s": round(stop_s, 1),
        "worker_exited": exited,
        "tasks": {t["task_id"]: {"state": t["state"], "try_number": t["try_number"]}
                  for t in tis if t["id"] in running},
    }


def worker_kill_experiment(
    victim: int = 1,
    sleep_s: float = 20.0,
    active: int = 4,
    cfg: Settings = settings,
    timeout_s: float = 300.0,
    restore: bool = True,
) -> dict:
    """Kill one of two workers mid-run and measure detection and retry of its tasks.

    Args:
        victim: number of the worker to kill (``worker-<victim>``).
        sleep_s: duration of each sleeping task (long enough to be killed mid-way).
        active: how many of the fan-out tasks sleep (the rest end at once).
        cfg: settings.
        timeout_s: deadline for the run to finish.
        restore: start the killed worker again at the end (the stack is healthy again).

    Returns:
        A dict with the run state, the killed tasks, the kill/cleanup result and, per killed
        task, ``detect_s`` (kill → try 1 marked failed), ``retry_s`` (kill → try 2 started),
        plus ``max_tries`` and ``double_success`` (tasks with more than one successful try).
    """
    celery_scale.scale(2, celery_mode.DEFAULT_CONCURRENCY, cfg)
    name = celery_mode.worker_name(victim)
    client = DagRunClient(cfg=cfg)
    try:
        run_id = client.trigger_alone(DAG_ID, {"sleep_s": sleep_s, "active": active})
        proc = _worker_process(victim, cfg)
        running = _wait_for_tasks_on(proc, min_running_s=2.0, timeout_s=120,
                                     of_run=lambda: _running_ids(client, run_id))
        killed_at = datetime.now(UTC)
        cleanup = kill_worker_tree(proc.pid)
        # Ids of try 1, read before the retry gives each lost task instance a new id.
        tis = client.task_instances(DAG_ID, run_id)
        killed_tasks = sorted(t["task_id"] for t in tis if t["id"] in running)
        run = client.wait(DAG_ID, run_id, timeout_s)
        tis = client.task_instances(DAG_ID, run_id)
        per_task, double, max_tries = {}, [], 0
        for ti in tis:
            tries = client.tries(DAG_ID, run_id, ti["task_id"])
            max_tries = max(max_tries, max(t["try_number"] for t in tries))
            if sum(t["state"] == "success" for t in tries) > 1:
                double.append(ti["task_id"])
            if ti["task_id"] in killed_tasks:
                first = next(t for t in tries if t["try_number"] == 1)
                second = next((t for t in tries if t["try_number"] == 2), None)
                per_task[ti["task_id"]] = {
                    "try1_state": first["state"],
                    "detect_s": _since(killed_at, first.get("end_date")),
                    "retry_s": _since(killed_at, (second or {}).get("start_date")),
                    "final_state": ti["state"],
                    "tries": len(tries),
                }
    finally:
        client.close()
        if restore:
            celery_scale.scale(2, celery_mode.DEFAULT_CONCURRENCY, cfg)
    retry = [v["retry_s"] for v in per_task.values() if v["retry_s"] is not None]
    detect = [v["detect_s"] for v in per_task.values() if v["detect_s"] is not None]
    return {
        "run_id": run_id,
        "state": run["state"],
        "wall_s": round(wall_time_s(run), 1),
        "victim": name,
        "killed_at": killed_at.isoformat(),
        "killed_tasks": killed_tasks,
        "cleanup": cleanup,
        "per_task": per_task,
        "detect_s": max(detect) if detect else None,
        "retry_s": max(retry) if retry else None,
        "heartbeat_timeout_s": celery_mode.HEARTBEAT_TIMEOUT_S,
        "max_tries": max_tries,
        "double_success": double,
    }
