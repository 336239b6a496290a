"""Fan-out DAG, CPU-bound: 8 independent tasks with a fixed amount of hashing each (day 4).

Each task computes ``rounds`` chained SHA-256 hashes
(:func:`opsbook.deploy.cpu_work.chained_sha256`) and returns the CPU seconds it used. The
notebook calibrates ``rounds`` to ≈ 1 s of CPU on the machine it runs on
(:func:`opsbook.deploy.cpu_work.rounds_for`): 4.5 million on one course machine, ~1.7 million
on a slower one; the default below is the first. The work is fixed, not the time: on a 2-core
machine no number of workers or slots makes the tasks use more than 2 cores. That is the
vertical-scaling ceiling the notebook measures next to the I/O-bound fan-out.

``rounds`` is bounded (:data:`opsbook.deploy.cpu_work.MIN_ROUNDS` to ``MAX_ROUNDS``): a trigger
asking for more work than that is refused by the REST API (400) instead of occupying every slot.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task
from opsbook.deploy.cpu_work import MAX_ROUNDS, MIN_ROUNDS, chained_sha256

N_TASKS = 8
DEFAULT_ROUNDS = 4_500_000


@dag(
    dag_id="fanout_cpu",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["dia4", "escalado"],
    params={"rounds": Param(DEFAULT_ROUNDS, type="integer", minimum=MIN_ROUNDS,
                            maximum=MAX_ROUNDS, description="hashes SHA-256 por tarea")},
    default_args={"owner": "equipo-datos", "retries": 2, "retry_delay": timedelta(seconds=2)},
    doc_md=__doc__,
)
def fanout_cpu():
    for i in range(N_TASKS):

        @task(task_id=f"calcula_{i:02d}")
        def calcula(index: int = i, params=None) -> dict:
            started = time.process_time()
            digest = chained_sha256(str(index).encode(), int(params["rounds"]))
            return {"index": index, "cpu_s": round(time.process_time() - started, 3),
                    "digest": digest.hex()[:12]}

        calcula()


fanout_cpu()
