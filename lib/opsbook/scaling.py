"""Day-4 scaling experiments on the live Celery-mode stack: scale-out and worker failure.

Why this module exists: the syllabus contrasts vertical and horizontal scaling in words; here
both are measured. :func:`scale_out_experiment` runs the fan-out DAGs (I/O-bound and
CPU-bound) with 1 worker × 2 slots, 2 workers × 2 and 1 worker × 8, taking each run's wall time
from the REST API (queued → end). :func:`worker_kill_experiment` kills one worker with
``kill -9`` in the middle of a run, cleans its orphaned children by pid, and measures how long
the scheduler takes to notice (heartbeat timeout) and to retry the lost tasks on the other
worker, checking that no task ran to success twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psutil

from opsbook import celery_mode, reaper
from opsbook.dagruns import DagRunClient, parse_ts, wall_time_s
from opsbook.settings import Settings, settings

CONFIGS = ((1, 2), (2, 2), (1, 8))
"""(workers, concurrency) of the scale-out experiment; the first is the baseline."""

TASK_TITLE = "airflow worker -- "
"""Process title of a running task (followed by its task-instance id) under a Celery worker."""


def run_fanout(
    client: DagRunClient, dag_id: str, conf: dict | None = None, timeout_s: float = 600
) -> dict:
    """Trigger one fan-out run, wait for it and return its timing.

    Returns:
        ``{"dag_id", "run_id", "state", "wall_s"}`` (wall time = queued → end, REST API).
    """
    run_id = client.trigger(dag_id, conf)
    run = client.wait(dag_id, run_id, timeout_s)
    return {"dag_id": dag_id, "run_id": run_id, "state": run["state"],
            "wall_s": round(wall_time_s(run), 2)}


def scale_out_experiment(
    dag_ids: tuple[str, ...] = ("fanout_io", "fanout_cpu"),
    configs: tuple[tuple[int, int], ...] = CONFIGS,
    confs: dict[str, dict] | None = None,
    cfg: Settings = settings,
    restore: tuple[int, int] = (2, 2),
) -> list[dict]:
    """Run each fan-out DAG once per (workers, concurrency) configuration.

    Args:
        dag_ids: DAGs to run in each configuration.
        configs: ``(workers, concurrency)`` pairs; the first is the speed-up baseline.
        confs: run ``conf`` per DAG id (e.g. ``{"fanout_cpu": {"rounds": 1_000_000}}``).
        cfg: settings.
        restore: workers/concurrency to leave the stack with at the end.

    Returns:
        One row per run: dag_id, workers, concurrency, slots, state, wall_s, speedup.
    """
    confs = confs or {}
    rows: list[dict] = []
    client = DagRunClient(cfg=cfg)
    try:
        for workers, concurrency in configs:
            celery_mode.scale(workers, concurrency, cfg)
            for dag_id in dag_ids:
                res = run_fanout(client, dag_id, confs.get(dag_id))
                rows.append({**res, "workers": workers, "concurrency": concurrency,
                             "slots": workers * concurrency})
    finally:
        client.close()
        celery_mode.scale(*restore, cfg=cfg)
    for row in rows:
        base = next(r for r in rows if r["dag_id"] == row["dag_id"])
        row["speedup"] = round(base["wall_s"] / row["wall_s"], 2)
    return rows


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
    # process group also catches a pool child forked while the tree was being read
    report = reaper.kill_tree(pid, grace_s=0)
    return {"main_pid": pid, "orphans": [o["pid"] for o in report["orphans"]],
            "survivors": report["survivors"]}


def _wait_for_tasks_on(proc: psutil.Process, min_running_s: float, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    first_seen = None
    while time.monotonic() < deadline:
        running = tasks_on(proc)
        if running and first_seen is None:
            first_seen = time.monotonic()
        if running and time.monotonic() - first_seen >= min_running_s:
            return running
        time.sleep(0.3)
    raise TimeoutError(f"el worker {proc.pid} no ejecutó ninguna tarea en {timeout_s:.0f} s")


def _since(t0: datetime, value: str | None) -> float | None:
    ts = parse_ts(value)
    return round((ts - t0).total_seconds(), 1) if ts else None


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
        active: how many of the 16 fan-out tasks sleep (the rest end at once).
        cfg: settings.
        timeout_s: deadline for the run to finish.
        restore: start the killed worker again at the end (the stack is healthy again).

    Returns:
        A dict with the run state, the killed tasks, the kill/cleanup result and, per killed
        task, ``detect_s`` (kill → try 1 marked failed), ``retry_s`` (kill → try 2 started),
        plus ``max_tries`` and ``double_success`` (tasks with more than one successful try).
    """
    from opsbook import stack

    celery_mode.scale(2, celery_mode.DEFAULT_CONCURRENCY, cfg)
    name = celery_mode.worker_name(victim)
    client = DagRunClient(cfg=cfg)
    try:
        run_id = client.trigger("fanout_io", {"sleep_s": sleep_s, "active": active})
        proc = psutil.Process(stack.component_pid(name, cfg))
        running = _wait_for_tasks_on(proc, min_running_s=2.0, timeout_s=120)
        killed_at = datetime.now(UTC)
        cleanup = kill_worker_tree(proc.pid)
        # Ids of try 1, read before the retry gives each lost task instance a new id.
        tis = client.task_instances("fanout_io", run_id)
        killed_tasks = sorted(t["task_id"] for t in tis if t["id"] in running)
        run = client.wait("fanout_io", run_id, timeout_s)
        tis = client.task_instances("fanout_io", run_id)
        per_task, double, max_tries = {}, [], 0
        for ti in tis:
            tries = client.tries("fanout_io", run_id, ti["task_id"])
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
            celery_mode.scale(2, celery_mode.DEFAULT_CONCURRENCY, cfg)
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


def validate_params(sleep_s: float, rounds: int, rate_rps: float, kill_sleep_s: float) -> None:
    """Check the day-4 scaling/deploy notebook parameters.

    Raises:
        ValueError: naming the parameter to change and the accepted range.
    """
    checks = [
        ("sleep_s", sleep_s, 0.5 <= float(sleep_s) <= 30, "entre 0.5 y 30 segundos"),
        ("rounds", rounds, 10_000 <= int(rounds) <= 20_000_000, "entre 10 000 y 20 000 000"),
        ("tasa_rps", rate_rps, 20 <= float(rate_rps) <= 200, "entre 20 y 200 peticiones/s"),
        ("kill_sleep_s", kill_sleep_s, 8 <= float(kill_sleep_s) <= 120,
         "entre 8 y 120 segundos (la tarea debe seguir viva al matar el worker)"),
    ]
    for name, value, ok, accepted in checks:
        if not ok:
            raise ValueError(f"parámetro {name}={value!r} fuera de rango: usa un valor {accepted}")
