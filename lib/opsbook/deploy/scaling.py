"""Day-4 scale-out experiment on the live Celery-mode stack: more slots, I/O versus CPU.

Why this module exists: the syllabus contrasts vertical and horizontal scaling in words; here
it is measured. :func:`scale_out_experiment` runs the fan-out DAGs (8 independent tasks,
I/O-bound and CPU-bound) with 1 worker × 2 slots (the baseline), 2 workers × 2 and
1 worker × 8, taking each run's wall time from the REST API (queued → end). For the CPU-bound
DAG it also adds up the CPU seconds its tasks report, so the ceiling is shown as a
measurement: the cores the computation actually used never exceed the machine's cores, however
many slots there are. Losing or retiring a worker is :mod:`opsbook.deploy.worker_loss`.
"""

from __future__ import annotations

from opsbook.airflow.dagruns import DagRunClient, parse_ts, wall_time_s
from opsbook.settings import Settings, settings
from opsbook.stack import celery_scale

CONFIGS = ((1, 2), (2, 2), (1, 8))
"""(workers, concurrency) of the scale-out experiment; the first is the baseline."""

CPU_DAGS = ("fanout_cpu",)
"""Fan-out DAGs whose tasks return their own CPU seconds (``{"cpu_s": ...}``)."""


def run_fanout(
    client: DagRunClient, dag_id: str, conf: dict | None = None, timeout_s: float = 600
) -> dict:
    """Trigger one fan-out run, wait for it and return its timing.

    Returns:
        ``{"dag_id", "run_id", "state", "wall_s", "task_s"}`` (wall time = queued → end,
        task time = mean start → end of its task instances, both from the REST API); for a
        CPU-bound DAG also ``cpu_s`` (its tasks' CPU seconds) and ``cores_used``
        (``cpu_s / wall_s``: how many cores the computation kept busy on average).
    """
    run_id = client.trigger_alone(dag_id, conf)
    run = client.wait(dag_id, run_id, timeout_s)
    out = {"dag_id": dag_id, "run_id": run_id, "state": run["state"],
           "wall_s": round(wall_time_s(run), 2),
           "task_s": round(mean_task_s(client.task_instances(dag_id, run_id)), 2)}
    if dag_id in CPU_DAGS and run["state"] == "success":
        out["cpu_s"] = round(task_cpu_s(client, dag_id, run_id), 2)
        out["cores_used"] = round(out["cpu_s"] / out["wall_s"], 2)
    return out


def mean_task_s(task_instances: list[dict]) -> float:
    """Mean seconds from start to end of the task instances that ran (0 when none did).

    A task that computes takes longer when more tasks share the cores; one that waits does not.
    """
    spans = [(parse_ts(ti["end_date"]) - parse_ts(ti["start_date"])).total_seconds()
             for ti in task_instances if ti.get("start_date") and ti.get("end_date")]
    return sum(spans) / len(spans) if spans else 0.0


def task_cpu_s(client: DagRunClient, dag_id: str, run_id: str) -> float:
    """CPU seconds the tasks of a run report in their return value (``cpu_s``), added up."""
    total = 0.0
    for ti in client.task_instances(dag_id, run_id):
        value = client.xcom(dag_id, run_id, ti["task_id"])
        total += float(value.get("cpu_s", 0.0)) if isinstance(value, dict) else 0.0
    return total


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
        restore: workers/concurrency to leave the stack with at the end (the last
            configuration restarts no worker).

    Returns:
        One row per run: dag_id, workers, concurrency, slots, state, wall_s, speedup (baseline
        wall time / this wall time), plus cpu_s and cores_used for CPU-bound DAGs.
    """
    confs = confs or {}
    rows: list[dict] = []
    client = DagRunClient(cfg=cfg)
    try:
        for workers, concurrency in configs:
            celery_scale.scale(workers, concurrency, cfg)
            for dag_id in dag_ids:
                res = run_fanout(client, dag_id, confs.get(dag_id))
                rows.append({**res, "workers": workers, "concurrency": concurrency,
                             "slots": workers * concurrency})
    finally:
        client.close()
        celery_scale.scale(*restore, cfg=cfg)
    for row in rows:
        base = next(r for r in rows if r["dag_id"] == row["dag_id"])
        row["speedup"] = round(base["wall_s"] / row["wall_s"], 2)
    return rows
