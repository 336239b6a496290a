"""Fan-out DAG, CPU-bound: 16 independent tasks with a fixed amount of hashing each (day 4).

Each task computes ``rounds`` chained SHA-256 hashes (~2 s of one idle core on the course
machine). The work is fixed, not the time: on a 2-core machine no number of workers or slots
makes the run faster than ~2× a single slot. That is the vertical-scaling ceiling the
notebook measures next to the I/O-bound fan-out.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta

from airflow.sdk import dag, task

N_TASKS = 16
DEFAULT_ROUNDS = 3_000_000


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
