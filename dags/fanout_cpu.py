"""Fan-out DAG, CPU-bound: 8 independent tasks with a fixed amount of hashing each (day 4).

Each task computes ``rounds`` chained SHA-256 hashes (4.5 million ≈ 1 s of CPU on the course
machine, measured: 3 million took 0.66 s) and returns the CPU seconds it used. The work is
fixed, not the time: on a 2-core machine no number of workers or slots makes the tasks use more
than 2 cores. That is the vertical-scaling ceiling the notebook measures next to the I/O-bound
fan-out.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta

from airflow.sdk import dag, task

N_TASKS = 8
DEFAULT_ROUNDS = 4_500_000


@dag(
    dag_id="fanout_cpu",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["dia4", "escalado"],
    params={"rounds": DEFAULT_ROUNDS},
    default_args={"owner": "equipo-datos", "retries": 2, "retry_delay": timedelta(seconds=2)},
    doc_md=__doc__,
)
def fanout_cpu():
    for i in range(N_TASKS):

        @task(task_id=f"calcula_{i:02d}")
        def calcula(index: int = i, params=None) -> dict:
            started = time.process_time()
            digest = str(index).encode()
            for _ in range(int(params["rounds"])):
                digest = hashlib.sha256(digest).digest()
            return {"index": index, "cpu_s": round(time.process_time() - started, 3),
                    "digest": digest.hex()[:12]}

        calcula()


fanout_cpu()
