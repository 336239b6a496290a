"""Smoke DAG: two trivial tasks proving the stack schedules and runs work end to end."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task


@dag(
    dag_id="smoke",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["opsbook", "smoke"],
    default_args={"owner": "equipo-plataforma", "retries": 2},
)
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
