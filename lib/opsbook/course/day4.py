"""Helpers of the day-4 notebook's scaling and deploy part: parameters, tables, summary, answer.

Why this module exists: the notebook only narrates, calls, displays and asserts. Checking its
parameters, turning the experiments' rows into tables and speed-ups, returning the stack to its
default mode (and proving it is clean), merging the measured figures into
``evidencia/dia_4/resumen.json`` and writing the verification answer from those figures is
logic, so it lives here where the linters and the unit tests see it.
"""

from __future__ import annotations

import os
from typing import Any

from opsbook.deploy import cpu_work
from opsbook.deploy.zero_downtime import DeployUnderLoad
from opsbook.settings import Settings, settings

IO_DAG, CPU_DAG = "fanout_io", "fanout_cpu"
SCALE_COLUMNS = ["dag_id", "workers", "concurrency", "slots", "state", "wall_s", "speedup",
                 "task_s", "cpu_s", "cores_used"]


def _number(name: str, value: Any, low: float, high: float, accepted: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"parámetro {name}={value!r} fuera de rango: usa un valor {accepted}")


def check_params(espera_io_s: Any, rondas_cpu: Any, tasa_rps: Any, espera_caida_s: Any,
                 espera_retiro_s: Any) -> None:
    """Validate the scaling/deploy parameters of the notebook (fail fast, in Spanish).

    Raises:
        ValueError: naming the parameter to change and the accepted range.
    """
    _number("espera_io_s", espera_io_s, 0.5, 30, "entre 0.5 y 30 segundos")
    if isinstance(rondas_cpu, bool) or not isinstance(rondas_cpu, int):
        raise ValueError(f"parámetro rondas_cpu={rondas_cpu!r}: usa un entero (hashes por tarea)")
    if rondas_cpu != 0:
        low, high = (f"{n:,}".replace(",", " ") for n in (cpu_work.MIN_ROUNDS, cpu_work.MAX_ROUNDS))
        _number("rondas_cpu", rondas_cpu, cpu_work.MIN_ROUNDS, cpu_work.MAX_ROUNDS,
                f"entre {low} y {high}, o 0 para calibrarlo en esta máquina")
    _number("tasa_rps", tasa_rps, 20, 200,
            "entre 20 y 200 peticiones/s (el objetivo del día es ≥ 20 peticiones/s)")
    _number("espera_caida_s", espera_caida_s, 8, 120,
            "entre 8 y 120 segundos (la tarea debe seguir viva al matar el worker)")
    _number("espera_retiro_s", espera_retiro_s, 3, 120,
            "entre 3 y 120 segundos (la tarea debe seguir viva al retirar el worker)")


def cpu_rounds(rondas_cpu: int) -> int:
    """Rounds per CPU task: the parameter, or with 0 the rounds worth ≈ 1 s of CPU here.

    Calibrated on the machine that runs the notebook (:func:`opsbook.deploy.cpu_work.rounds_for`),
    so "each task computes ≈ 1 s" holds on a slow laptop and on a fast server alike.
    """
    return rondas_cpu or cpu_work.rounds_for()


def scale_frame(rows: list[dict]) -> Any:
    """The scale-out rows as a table (one row per run, columns :data:`SCALE_COLUMNS`)."""
    import pandas as pd

    return pd.DataFrame(rows).reindex(columns=SCALE_COLUMNS)


def _per_slots(rows: list[dict], column: str) -> dict[str, dict[int, float]]:
    """One column of the scale-out rows as ``{"io": {slots: value}, "cpu": {…}}``."""
    out: dict[str, dict[int, float]] = {"io": {}, "cpu": {}}
    for row in rows:
        out["io" if row["dag_id"] == IO_DAG else "cpu"][row["slots"]] = float(row[column])
    return out


def speedups(rows: list[dict]) -> dict[str, dict[int, float]]:
    """Speed-up per slot count: ``{"io": {2: 1.0, 4: …, 8: …}, "cpu": {…}}``."""
    return _per_slots(rows, "speedup")


def task_stretch(rows: list[dict]) -> dict[str, float]:
    """How much longer each task takes with the most slots than with the fewest, per kind.

    ``{"io": …, "cpu": …}``: mean task seconds (``task_s``) at the largest slot count divided
    by the same at the smallest. A task that waits takes as long with 8 neighbours as with 2;
    one that computes shares the same cores with more of them, and stretches.
    """
    return {kind: round(t[max(t)] / t[min(t)], 2)
            for kind, t in _per_slots(rows, "task_s").items() if t}


def cores() -> int:
    """CPU cores of this machine (the ceiling of the CPU-bound fan-out)."""
    return os.cpu_count() or 1


def restore_default_mode(cfg: Settings = settings, timeout_s: float = 900) -> dict:
    """Return the stack to LocalExecutor + SQLite with blue serving, and check it is clean.

    The mode switch re-plans the stack: the Celery workers and any green slot are stopped by
    supervisord and the front door points at blue again.

    Returns:
        ``{"healthy", "executor", "active_slot", "programs", "leftover_programs",
        "old_worker_pids_alive", "strays", "seconds"}``; clean means ``leftover_programs``,
        ``old_worker_pids_alive`` and ``strays`` are empty.
    """
    import time

    import psutil

    from opsbook.deploy import bluegreen as deploy
    from opsbook.stack import health
    from opsbook.stack import lifecycle as stack
    from opsbook.stack.state import states

    before = [info["pid"] for name, info in states(cfg).items()
              if (name.startswith("worker-") or name.endswith("-green")) and info.get("pid")]
    t0 = time.monotonic()
    final = stack.up(executor="local", timeout_s=timeout_s, cfg=cfg, progress=False)
    seconds = time.monotonic() - t0
    planned = {p.name for p in stack.plan(cfg, "local", 0)}
    running = {name for name, info in states(cfg).items() if info.get("statename") == "RUNNING"}
    return {
        "healthy": final["healthy"],
        "executor": final["mode"]["executor"],
        "active_slot": deploy.active_slot(cfg),
        "programs": sorted(final["components"]),
        "leftover_programs": sorted((set(final["components"]) | running) - planned),
        "old_worker_pids_alive": [p for p in before if psutil.pid_exists(p)
                                  and psutil.Process(p).status() != psutil.STATUS_ZOMBIE],
        "strays": [f"{p.pid} ({reason})" for p, reason in health.stray_processes(cfg)],
        "seconds": round(seconds, 1),
    }


def write_summary(rows: list[dict], retiro: dict, caida: dict, comparacion: dict,
                  rota: DeployUnderLoad, bundles: list[dict]) -> dict[str, Any]:
    """Merge this part's measured figures into ``evidencia/dia_4/resumen.json``.

    Keys follow ``docs/esquema_resumen.md`` (``escalado.speedup_*``,
    ``despliegue.blue_green_failed``, ``despliegue.naive_restart_failed``); the versioning
    section's keys are kept.

    Returns:
        The merged summary as written.
    """
    from opsbook.pipeline.versioning import write_summary_merged

    sp = speedups(rows)
    cpu_rows = [r for r in rows if "cores_used" in r]
    runs = {(r["bundle"], r["run"]): r for r in bundles}
    return write_summary_merged(4, {
        "escalado": {
            "speedup_io_2x2": sp["io"].get(4), "speedup_io_1x8": sp["io"].get(8),
            "speedup_cpu_2x2": sp["cpu"].get(4), "speedup_cpu_1x8": sp["cpu"].get(8),
            "wall_s": {f"{r['dag_id']}_{r['workers']}x{r['concurrency']}": r["wall_s"]
                       for r in rows},
            "cpu_cores_used_max": max((r["cores_used"] for r in cpu_rows), default=None),
            "cores": cores(),
        },
        "retiro_en_caliente": {"stop_s": retiro["stop_s"],
                               "tasks_finished_try_1": sum(
                                   t["state"] == "success" and t["try_number"] == 1
                                   for t in retiro["tasks"].values())},
        "caida_worker": {"detect_s": caida["detect_s"], "retry_s": caida["retry_s"],
                         "heartbeat_timeout_s": caida["heartbeat_timeout_s"],
                         "killed_tasks": len(caida["killed_tasks"]),
                         "orphans_reaped": len(caida["cleanup"]["orphans"]),
                         "double_success": len(caida["double_success"])},
        "despliegue": {"rate_rps": comparacion["rate_rps"],
                       "blue_green_failed": comparacion["blue_green"]["failed"],
                       "blue_green_requests": comparacion["blue_green"]["requests"],
                       "blue_green_p95_ms": comparacion["blue_green"]["p95_ms"],
                       "naive_restart_failed": comparacion["naive_restart"]["failed"],
                       "naive_restart_requests": comparacion["naive_restart"]["requests"],
                       "naive_restart_outage_s": comparacion["naive_restart"]["longest_outage_s"],
                       "rollback_step": rota.deploy.failed_step,
                       "rollback_failed_requests": rota.load["failed"]},
        "bundles": {"git_run_a": f"{runs['releases', 'A']['inicio']}->"
                                 f"{runs['releases', 'A']['fin']}",
                    "plain_run_a": f"{runs['plain', 'A']['inicio']}->{runs['plain', 'A']['fin']}"},
    })


def answer(rows: list[dict], caida: dict, comparacion: dict) -> str:
    """Spanish answer to «¿escalar en horizontal o en vertical?» from the measured figures."""
    sp = speedups(rows)
    used = max((r["cores_used"] for r in rows if "cores_used" in r), default=float("nan"))
    bg, naive = comparacion["blue_green"], comparacion["naive_restart"]
    return f"""
Con el fan-out de **E/S**, pasar de 2 ranuras a 4 repartidas en 2 workers aceleró
**{sp['io'][4]:.1f}×**, y 8 ranuras en un worker **{sp['io'][8]:.1f}×**: cuando las tareas
esperan (APIs, bases de datos, ficheros remotos), más procesos en paralelo cuestan casi nada y el
escalado horizontal rinde. Con el fan-out de **CPU**, las mismas 8 ranuras solo dieron
**{sp['cpu'][8]:.1f}×** (4 ranuras: {sp['cpu'][4]:.1f}×): el cálculo nunca ocupó más de
**{used:.1f} de los {cores()} núcleos** de la máquina, y ningún número de workers *en ella* lo
supera. Ahí hace falta escalar en **vertical** (más núcleos) o en horizontal **con más
máquinas**, no con más procesos en la misma.

Prefiero **horizontal** cuando la carga crece o varía de forma impredecible, cuando necesito
tolerancia a fallos (un worker murió con `kill -9` y sus {len(caida['killed_tasks'])} tareas
se repitieron en el otro {caida['retry_s']:.0f} s después, sin ejecuciones dobles) y cuando no
puedo parar (el despliegue blue-green perdió **{bg['failed']}** de {bg['requests']} peticiones
frente a **{naive['failed']}** de {naive['requests']} del reinicio ingenuo). Prefiero
**vertical** cuando la carga es estable y cabe en una máquina, cuando la tarea está limitada por
la CPU o la memoria de un único proceso, o cuando la simplicidad operativa pesa más que la
disponibilidad.
"""
