"""The fixed CPU work of the day-4 CPU-bound fan-out, and its calibration to this machine.

Why this module exists: ``fanout_cpu``'s tasks hash a fixed number of rounds so the work, not
the time, is fixed, and the notebook says each task is "≈ 1 s of CPU". A fixed round count made
that true on one machine only: 4.5 million rounds took ~1 s where they were chosen and ~2.7 s on
a slower course machine, which made the day slower there for no extra insight. The DAG and the
calibration share :func:`chained_sha256`, so the notebook can measure, on the machine it runs
on, how many rounds cost the CPU seconds it wants (:func:`rounds_for`). Standard library only:
the DAG imports it in every task process.
"""

from __future__ import annotations

import hashlib
import time

MIN_ROUNDS, MAX_ROUNDS = 500_000, 50_000_000
"""Accepted range of rounds per task (the notebook parameter ``rondas_cpu``)."""

TASK_CPU_S = 1.0
"""CPU seconds of work per fan-out task that the calibration aims at (the notebook's "≈ 1 s")."""

PROBE_ROUNDS = 200_000
"""Rounds hashed to calibrate (≈ 0.05–0.15 s of CPU)."""


def chained_sha256(seed: bytes, rounds: int) -> bytes:
    """Hash ``seed`` ``rounds`` times, each round hashing the previous digest (SHA-256).

    Returns:
        The last digest.
    """
    digest = seed
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest


def rounds_for(cpu_s: float = TASK_CPU_S, probe_rounds: int = PROBE_ROUNDS,
               repeat: int = 3) -> int:
    """Rounds of :func:`chained_sha256` that cost ``cpu_s`` CPU seconds on this machine.

    Times ``probe_rounds`` rounds ``repeat`` times with :func:`time.process_time` and keeps the
    fastest (as ``timeit`` does: CPU time still grows when a sibling hyper-thread is busy;
    measured ±30 % from one probe to the next on a shared 2-vCPU machine), then scales, rounded
    to 100 000 and kept in [:data:`MIN_ROUNDS`, :data:`MAX_ROUNDS`].

    Raises:
        ValueError: ``cpu_s`` is not positive.
    """
    if cpu_s <= 0:
        raise ValueError(f"cpu_s={cpu_s!r}: usa un número de segundos de CPU mayor que 0")
    spent = []
    for _ in range(max(1, repeat)):
        started = time.process_time()
        chained_sha256(b"calibra", probe_rounds)
        spent.append(time.process_time() - started)
    per_round = max(min(spent), 1e-6) / probe_rounds
    rounds = round(cpu_s / per_round / 100_000) * 100_000
    return int(min(MAX_ROUNDS, max(MIN_ROUNDS, rounds)))
