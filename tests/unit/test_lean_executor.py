"""The lean LocalExecutor forks no worker at start and one per workload in flight, on demand."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from opsbook.waiting import wait_until

pytestmark = pytest.mark.unit


@pytest.fixture
def executor(monkeypatch):
    from opsbook.airflow.lean_executor import LeanLocalExecutor

    ex = LeanLocalExecutor(parallelism=3)
    forked: list[int] = []

    def fake_spawn():
        pid = 10_000 + len(forked)
        forked.append(pid)
        ex.workers[pid] = SimpleNamespace(is_alive=lambda: True, close=lambda: None)

    monkeypatch.setattr(ex, "_spawn_worker", fake_spawn)
    ex.start()
    ex.forked = forked
    yield ex
    ex.activity_queue.close()
    ex.result_queue.close()


def _workload(key, running_state=None):
    return SimpleNamespace(key=key, running_state=running_state)


def _queue(ex, *workloads):
    for w in workloads:
        ex.queued_tasks[w.key] = w
    ex._process_workloads(list(workloads))


def test_start_forks_no_worker(executor):
    assert executor.workers == {} and executor.forked == []


def test_one_worker_per_workload_in_flight_up_to_parallelism(executor):
    _queue(executor, _workload("a"))
    assert len(executor.workers) == 1
    _queue(executor, _workload("b"), _workload("c"), _workload("d"))
    assert len(executor.workers) == 3  # parallelism caps it


def test_an_idle_worker_takes_the_next_workload_without_a_new_fork(executor, monkeypatch):
    _queue(executor, _workload("a"))
    monkeypatch.setattr(executor, "change_state", lambda key, state: None)
    executor.result_queue.put(("a", "success", None))
    wait_until(lambda: not executor.result_queue.empty(), 5, 0.01, "resultado en la cola")
    executor._read_results()
    assert executor._in_flight == {}
    _queue(executor, _workload("b"))
    assert executor.forked == [10_000]


def test_running_state_result_keeps_the_workload_in_flight(executor, monkeypatch):
    monkeypatch.setattr(executor, "change_state", lambda key, state: None)
    executor._in_flight = {"cb": "running"}
    executor.result_queue.put(("cb", "running", None))
    wait_until(lambda: not executor.result_queue.empty(), 5, 0.01, "resultado en la cola")
    executor._read_results()
    assert executor._in_flight == {"cb": "running"}


def test_dead_workers_are_reaped_and_replaced_only_if_needed(executor):
    _queue(executor, _workload("a"))
    (pid,) = executor.workers
    executor.workers[pid] = SimpleNamespace(is_alive=lambda: False, close=lambda: None)
    executor._in_flight.clear()
    executor._check_workers()
    assert executor.workers == {}


def test_idle_workers_are_asked_to_exit_after_the_idle_delay(executor, monkeypatch):
    from opsbook.airflow import lean_executor

    _queue(executor, _workload("a"), _workload("b"))
    executor._in_flight.clear()
    executor._check_workers()
    assert executor._pills == 0  # just went idle: no exit messages yet
    monkeypatch.setattr(lean_executor, "IDLE_RETIRE_S", 0.0)
    executor._check_workers()
    assert executor._pills == 2
    queued = [executor.activity_queue.get() for _ in range(4)]  # (fake workers read nothing)
    assert [getattr(q, "key", q) for q in queued] == ["a", "b", None, None]
    executor._check_workers()
    assert executor._pills == 2  # not sent twice while the workers have not exited
