"""Where the native stack spends memory and start time, per component.

Why this module exists: issue 18 asks to measure before cutting. ``bench/stack_start.py`` gives
one total against ``airflow standalone``; this module splits it: PSS per supervisord program (the
program's whole process tree: the LocalExecutor's pre-forked workers count for the scheduler,
parse children for the dag-processor) and the phases ``up`` records in ``mode.json`` (supervisord
started, schema checked/migrated, each component first seen healthy, execution API warmed).
``scripts/profile_stack.py`` turns both into the table of ``docs/rendimiento.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psutil

from opsbook.settings import Settings, settings
from opsbook.stack.state import read_mode, states


@dataclass(frozen=True)
class ComponentMemory:
    """PSS of one program's process tree.

    Attributes:
        name: supervisord program name.
        pss_bytes: proportional set size summed over the program and its descendants.
        processes: how many processes that tree has.
    """

    name: str
    pss_bytes: int
    processes: int


@dataclass(frozen=True)
class StartProfile:
    """Phases of the last ``up`` (seconds since ``up`` began), read from ``mode.json``.

    Attributes:
        up_s: the whole ``up`` (configs → healthy → execution API warmed).
        supervisord_s: configs written and supervisord running.
        migrated_s: schema checked and, if needed, ``airflow db migrate`` finished.
        healthy_s: every component healthy.
        schema: what the schema check decided (Spanish line).
        component_healthy_s: program → first poll that saw it healthy.
        warm_execution_api_s: the first ``/execution/health`` call (overlaps the wait).
    """

    up_s: float | None
    supervisord_s: float | None
    migrated_s: float | None
    healthy_s: float | None
    schema: str
    component_healthy_s: dict[str, float] = field(default_factory=dict)
    warm_execution_api_s: float | None = None


def pss(procs: list[psutil.Process]) -> int:
    """Sum of the proportional set size of ``procs`` in bytes (a process that ended counts 0)."""
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:
            continue
    return total


def _tree_pss(root: psutil.Process) -> tuple[int, int]:
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    return pss(procs), len(procs)


def component_memory(cfg: Settings = settings) -> list[ComponentMemory]:
    """PSS per running program, largest first (one sample)."""
    out = []
    for name, info in states(cfg).items():
        pid = info.get("pid") or 0
        if info.get("statename") != "RUNNING" or not pid:
            continue
        try:
            pss, count = _tree_pss(psutil.Process(pid))
        except psutil.Error:
            continue
        out.append(ComponentMemory(name, pss, count))
    return sorted(out, key=lambda c: c.pss_bytes, reverse=True)


def peak_component_memory(
    cfg: Settings = settings, samples: int = 5, interval_s: float = 1.0
) -> list[ComponentMemory]:
    """The sample with the largest total PSS among ``samples`` taken ``interval_s`` apart.

    The same rule as ``bench/stack_start.py`` (maximum of 5 samples 1 s apart), per component.
    """
    best: list[ComponentMemory] = []
    for i in range(samples):
        now = component_memory(cfg)
        if sum(c.pss_bytes for c in now) > sum(c.pss_bytes for c in best):
            best = now
        if i < samples - 1:
            time.sleep(interval_s)
    return best


def start_profile(cfg: Settings = settings) -> StartProfile:
    """The phases of the last ``up`` recorded in ``mode.json`` (missing ones are None)."""
    mode = read_mode(cfg)
    return StartProfile(
        up_s=mode.get("up_seconds"),
        supervisord_s=mode.get("supervisord_s"),
        migrated_s=mode.get("migrated_s"),
        healthy_s=mode.get("healthy_s"),
        schema=mode.get("schema", "—"),
        component_healthy_s=dict(mode.get("component_healthy_s") or {}),
        warm_execution_api_s=mode.get("warm_execution_api_seconds"),
    )
