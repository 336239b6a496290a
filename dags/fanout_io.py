"""Fan-out DAG, I/O-bound: 8 independent tasks that wait (day 4 scale-out experiment).

Each task sleeps ``sleep_s`` seconds, like a task waiting on a remote API or database: it
needs a task slot but almost no CPU, so more slots (more workers or more concurrency) shorten
the run almost linearly. ``active`` limits how many of the 8 tasks sleep (the others return at
once), which the worker-kill drill uses to keep a run short.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from airflow.sdk import dag, task

N_TASKS = 8


@dag(
    dag_id="fanout_io",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["dia4", "escalado"],
    params={"sleep_s": 2.0, "active": N_TASKS},
    default_args={"owner": "equipo-datos", "retries": 2, "retry_delay": timedelta(seconds=2)},
    doc_md=__doc__,
)
def fanout_io():
    for i in range(N_TASKS):

        @task(task_id=f"espera_{i:02d}")
        def espera(index: int = i, params=None) -> dict:
            seconds = float(params["sleep_s"]) if index < int(params["active"]) else 0.0
            started = time.time()
            time.sleep(seconds)
            return {"index": index, "slept_s": round(time.time() - started, 3)}

        espera()


fanout_io()
