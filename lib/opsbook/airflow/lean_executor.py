"""A LocalExecutor that forks its worker processes when work arrives, not at scheduler start.

Why this module exists: Airflow 3.3's ``LocalExecutor`` pre-forks ``parallelism`` workers the
moment the scheduler starts (and all of the missing ones at the first task) to save ``gc.freeze``
cycles. On the course machine each idle worker costs 38–57 MiB of PSS (measured on 2026-12-05 on
the course stacks of this machine with psutil): with ``parallelism`` 4 that is ~150–230 MiB
for workers that only a DAG run needs, and most of the time nothing runs. This subclass forks
none at start and then keeps one worker per workload in flight (queued or running, never more
than ``parallelism``; idle workers count), each fork still under ``gc.freeze``. Once forked, a
worker serves the next workloads; after 30 s with nothing in flight the idle workers exit (the
upstream exit message), so memory goes back down between runs. A fork costs milliseconds.

Behaviour is otherwise upstream's: same queues, same worker loop and process title
(``airflow worker -- LocalExecutor: …``, which :mod:`opsbook.stack.reaper` relies on), same
``parallelism``. Selected by :func:`opsbook.airflow.env.airflow_env` in local mode.
"""

from __future__ import annotations

import time

from airflow.executors.local_executor import LocalExecutor

IDLE_RETIRE_S = 30.0
"""Seconds with nothing in flight after which the idle workers are asked to exit."""


class LeanLocalExecutor(LocalExecutor):
    """``LocalExecutor`` without pre-forking: workers are forked on demand (see module doc)."""

    _in_flight: dict
    """Key → running state of each workload handed to the workers and not finished yet."""

    _idle_since: float
    """``time.monotonic()`` when the last workload in flight finished."""
    _pills: int
    """Exit messages sent to idle workers and not yet matched by a reaped worker."""

    def start(self) -> None:
        """Open the queues like upstream, but fork no worker yet."""
        self._in_flight = {}
        self._idle_since = time.monotonic()
        self._pills = 0
        fork = self.is_mp_using_fork
        self.is_mp_using_fork = False  # upstream pre-forks only when this is True
        try:
            super().start()
        finally:
            self.is_mp_using_fork = fork

    def _process_workloads(self, workload_list) -> None:
        """Record the workloads in flight, then queue them as upstream (which checks workers)."""
        for workload in workload_list:
            self._in_flight[workload.key] = workload.running_state
        super()._process_workloads(workload_list)

    def _read_results(self) -> None:
        """Upstream's loop; a result other than the workload's running state ends it."""
        while not self.result_queue.empty():
            key, state, _exc = self.result_queue.get()
            running = self._in_flight.get(key)
            if running is None or state != running:
                self._in_flight.pop(key, None)
            self.change_state(key, state)

    def _check_workers(self) -> None:
        """Reap dead workers; fork so that every workload in flight has a worker (≤ parallelism).

        Idle workers are counted: a workload queued while one is idle forks nothing. After
        :data:`IDLE_RETIRE_S` with nothing in flight, the idle workers are asked to exit.
        """
        dead = [pid for pid, proc in self.workers.items() if not proc.is_alive()]
        for pid in dead:
            self.workers.pop(pid).close()
        self._pills = max(0, self._pills - len(dead))
        if self._in_flight:
            self._idle_since = time.monotonic()
        elif self.workers and not self._pills and \
                time.monotonic() - self._idle_since >= IDLE_RETIRE_S:
            self._retire_idle_workers()
        missing = min(len(self._in_flight), self.parallelism) - len(self.workers)
        if missing <= 0:
            return
        if self.is_mp_using_fork:
            self._spawn_workers_with_gc_freeze(missing)
        else:
            for _ in range(missing):
                self._spawn_worker()

    def _retire_idle_workers(self) -> None:
        """Send upstream's exit message (``None``) once per worker; all of them are idle.

        A workload queued right after waits behind the messages (FIFO) and gets a new worker at
        the next ``sync`` once the old ones are reaped.
        """
        for _ in self.workers:
            self.activity_queue.put(None)
        self._pills = len(self.workers)
