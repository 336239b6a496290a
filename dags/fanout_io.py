"""Fan-out DAG, I/O-bound: 8 independent tasks that wait (day 4 scale-out experiment).

Each task sleeps ``sleep_s`` seconds, like a task waiting on a remote API or database: it
needs a task slot but almost no CPU, so more slots (more workers or more concurrency) shorten
the run almost linearly. ``active`` limits how many of the 8 tasks sleep (the others return at
once), which the worker-kill drill uses to keep a run short. Both are bounded: a trigger asking
for longer waits or more tasks than there are is refused by the REST API (400).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

N_TASKS = 8
MAX_SLEEP_S = 120  # the longest wait the day-4 notebook accepts (espera_caida_s, espera_retiro_s)


@dag(
    dag_id="fanout_io",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["dia4", "escalado"],
    params={
        "sleep_s": Param(2.0, type="number", minimum=0, maximum=MAX_SLEEP_S,
                         description="segundos que espera cada tarea"),
        "active": Param(N_TASKS, type="integer", minimum=0, maximum=N_TASKS,
                        description="cuántas de las tareas esperan"),
    },
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
