"""Scale-out of the Celery-mode stack: fan-out wall time per (workers × slots), I/O vs CPU.

Runs ``fanout_io`` (16 tasks that wait) and ``fanout_cpu`` (16 tasks with fixed hashing work)
with 1 worker × 2 slots (baseline, measured in the same run), 2 workers × 2 and 1 worker × 8.
Wall time = queued → end of the DAG run (REST API). Prints each run and the speed-up ratios
against the baseline, and the cores the CPU-bound tasks kept busy (never more than the
machine has: that is the ceiling, whatever the number of slots).

Starts the stack in Celery mode when needed and leaves it as it found it (stops it when it
was not running, otherwise returns it to its previous mode).

Run: ``.venv/bin/python bench/scale_out.py [--sleep 1] [--rounds N]`` (``make bench``; without
``--rounds``, the rounds worth ≈ 1 s of CPU on this machine, as in the day-4 notebook).
"""

from __future__ import annotations

import argparse

from opsbook.deploy import cpu_work, scaling
from opsbook.stack import lifecycle as stack
from opsbook.stack.state import read_mode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=1.0, help="segundos por tarea de E/S")
    parser.add_argument("--rounds", type=int, default=0,
                        help="hashes por tarea de CPU (0: los de ≈ 1 s de CPU en esta máquina)")
    args = parser.parse_args()
    rounds = args.rounds or cpu_work.rounds_for()
    was_healthy = stack.is_healthy()
    previous = read_mode() if was_healthy else {}
    stack.up(executor="celery", workers=2, timeout_s=900, progress=False)
    try:
        rows = scaling.scale_out_experiment(
            confs={"fanout_io": {"sleep_s": args.sleep}, "fanout_cpu": {"rounds": rounds}}
        )
    finally:
        if not was_healthy:
            stack.down()
        elif previous.get("executor") != "celery":
            stack.up(executor=previous.get("executor", "local"), timeout_s=900, progress=False)
    print(f"{'dag':<11} {'workers×slots':>13} {'wall (s)':>9} {'speed-up':>9} {'cores':>6}")
    for r in rows:
        used = f"{r['cores_used']:>6.2f}" if "cores_used" in r else " " * 6
        print(f"{r['dag_id']:<11} {r['workers']:>6}×{r['concurrency']:<6} {r['wall_s']:>9.1f} "
              f"{r['speedup']:>8.2f}× {used}   ({r['state']})")
    best = {d: max(r["speedup"] for r in rows if r["dag_id"] == d) for d in ("fanout_io",
                                                                              "fanout_cpu")}
    print(f"ratio vs 1×2 baseline: I/O best {best['fanout_io']:.2f}×, "
          f"CPU best {best['fanout_cpu']:.2f}× (CPU-bound tasks never use more cores than "
          f"the machine has)")


if __name__ == "__main__":
    main()
