"""Scale-out of the Celery-mode stack: fan-out wall time per (workers × slots), I/O vs CPU.

Runs ``fanout_io`` (16 tasks that wait) and ``fanout_cpu`` (16 tasks with fixed hashing work)
with 1 worker × 2 slots (baseline, measured in the same run), 2 workers × 2 and 1 worker × 8.
Wall time = queued → end of the DAG run (REST API). Prints each run and the speed-up ratios
against the baseline; the CPU-bound ratio cannot pass ~2× on a 2-core machine.

Starts the stack in Celery mode when needed and leaves it as it found it (stops it when it
was not running, otherwise returns it to its previous mode).

Run: ``.venv/bin/python bench/scale_out.py [--sleep 2] [--rounds 1500000]`` (``make bench``).
"""

from __future__ import annotations

import argparse

from opsbook import scaling, stack
from opsbook.stack_state import read_mode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=2.0, help="segundos por tarea de E/S")
    parser.add_argument("--rounds", type=int, default=1_500_000, help="hashes por tarea de CPU")
    args = parser.parse_args()
    was_healthy = stack.is_healthy()
    previous = read_mode() if was_healthy else {}
    stack.up(executor="celery", workers=2, timeout_s=900, progress=False)
    try:
        rows = scaling.scale_out_experiment(
            confs={"fanout_io": {"sleep_s": args.sleep}, "fanout_cpu": {"rounds": args.rounds}}
        )
    finally:
        if not was_healthy:
            stack.down()
        elif previous.get("executor") != "celery":
            stack.up(executor=previous.get("executor", "local"), timeout_s=900, progress=False)
    print(f"{'dag':<11} {'workers×slots':>13} {'wall (s)':>9} {'speed-up':>9}")
    for r in rows:
        print(f"{r['dag_id']:<11} {r['workers']:>6}×{r['concurrency']:<6} {r['wall_s']:>9.1f} "
              f"{r['speedup']:>8.2f}×   ({r['state']})")
    best = {d: max(r["speedup"] for r in rows if r["dag_id"] == d) for d in ("fanout_io",
                                                                              "fanout_cpu")}
    print(f"ratio vs 1×2 baseline: I/O best {best['fanout_io']:.2f}×, "
          f"CPU best {best['fanout_cpu']:.2f}× (2-core ceiling ≈ 2×)")


if __name__ == "__main__":
    main()
