"""P6: MTTR of the pipeline_down incident over several real drills (median and max).

MTTR = from ``kill -9`` of the scheduler to the runbook's verification that a NEW scheduler
heartbeats (health endpoint). Goal: <= 45 s. Baseline measured in the same run: a direct
restart of the scheduler by hand (stop -> start -> fresh heartbeat), i.e. recovery without
detection; the ratio shows what detection + diagnosis add.

Detection is bounded by the AirflowSchedulerDown rule: a 10 s window on the heartbeat counter
(the scheduler beats every 5 s), + <= 1 s scrape + <= 1 s evaluation + `for: 2s` + Alertmanager
group_wait 1 s  ->  10..15 s after the kill.
"""

import os
import statistics
import sys
import time

from opsbook.incidents import drills
from opsbook.incidents.diagnostics import stack_healthy
from opsbook.incidents.recovery import restart_component
from opsbook.stack import lifecycle as stack

N = int(os.environ.get("OPSBOOK_MTTR_DRILLS", "3"))
GOAL_S = 45.0


def manual_restart_s() -> float:
    ctx: dict = {}
    t0 = time.time()
    stack.stop_component("scheduler")
    restart_component("scheduler", ctx)
    out = stack_healthy(ctx)
    if not out.ok:
        sys.exit(f"el scheduler no volvió en el baseline: {out.detail}")
    return time.time() - t0


def main() -> None:
    started = False
    if not stack.is_healthy():
        stack.up(progress=False)
        started = True
    try:
        baseline = manual_restart_s()
        print(f"baseline (reinicio manual sin detección): {baseline:.1f} s")
        rows = []
        for i in range(N):
            drills.precheck("pipeline_down")
            result = drills.pipeline_down(with_run=False)
            if not result.incident or result.incident["status"] != "recovered":
                sys.exit(f"drill {i + 1} no se recuperó: {result.still_broken}")
            imp = result.impact
            rows.append(imp)
            print(f"drill {i + 1}: MTTD {imp['mttd_s']:.1f} s · MTTA {imp['mtta_s']:.1f} s · "
                  f"MTTR {imp['mttr_s']:.1f} s")
        mttr = [r["mttr_s"] for r in rows]
        mttd = [r["mttd_s"] for r in rows]
        med = statistics.median(mttr)
        print(f"MTTR mediana {med:.1f} s · máx {max(mttr):.1f} s · objetivo {GOAL_S:.0f} s "
              f"({'cumple' if max(mttr) <= GOAL_S else 'NO cumple'})")
        print(f"detección mediana {statistics.median(mttd):.1f} s "
              f"({100 * statistics.median(mttd) / med:.0f} % del MTTR)")
        print(f"ratio MTTR mediana / baseline manual: {med / baseline:.2f}x")
    finally:
        if started:
            stack.down()


if __name__ == "__main__":
    main()
