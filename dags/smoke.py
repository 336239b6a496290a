"""Smoke DAG: two trivial tasks proving the stack schedules and runs work end to end."""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(dag_id="smoke", schedule=None, catchup=False, tags=["opsbook", "smoke"])
def smoke():
    @task
    def ping() -> int:
        return 1

    @task
    def pong(value: int) -> int:
        if value != 1:
            raise ValueError(f"valor inesperado: {value}")
        return value + 1

    pong(ping())


smoke()
