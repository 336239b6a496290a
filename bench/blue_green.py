"""P10: requests lost by clients of the front door — blue-green deploy vs naive restart.

Same load in the same run (default 20 req/s: health + an authenticated API call, timeout 2 s)
through the nginx front door during (a) a naive in-place restart of the single api-server
(baseline) and (b) a blue-green deploy of a new release (green started, health-checked,
smoke-tested and warmed before the switch). Prints failed requests, longest outage and latency
percentiles of both, and the ratio. The traffic is returned to blue at the end.

Starts the stack when it is not running (and stops it again).

Run: ``.venv/bin/python bench/blue_green.py [--rate 20]`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse

from opsbook.deploy import bluegreen as deploy
from opsbook.deploy import zero_downtime
from opsbook.stack import lifecycle as stack
from opsbook.stack import supervisor_conf as sup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="peticiones por segundo")
    args = parser.parse_args()
    # A stack whose traffic is on green is not "healthy" for stack.up (blue is retired):
    # bring the traffic back to blue instead of re-planning the stack in another mode.
    started = not sup.is_running()
    if started:
        stack.up(timeout_s=900, progress=False)
    try:
        deploy.ensure_blue(echo=None)
        naive = zero_downtime.naive_restart_under_load(rate=args.rate)
        bg = zero_downtime.deploy_under_load("bench-v2", rate=args.rate, echo=None)
        back = deploy.ensure_blue(echo=None)
    finally:
        if started:
            stack.down()
    cmp = zero_downtime.compare(bg, naive)
    print(f"load {cmp['rate_rps']:.0f} req/s through the front door (timeout 2 s)")
    print(f"{'':<16} {'requests':>8} {'failed':>7} {'outage s':>9} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8}")
    for label, s in (("naive restart", cmp["naive_restart"]), ("blue-green", cmp["blue_green"])):
        print(f"{label:<16} {s['requests']:>8} {s['failed']:>7} {s['longest_outage_s']:>9} "
              f"{s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8}")
    nf, bf = cmp["naive_restart"]["failed"], cmp["blue_green"]["failed"]
    ratio = "∞" if bf == 0 and nf else f"{nf / bf:.1f}" if bf else "n/a"
    print(f"deploy ok: {cmp['deploy_ok']} · back to blue ok: {back.ok} · "
          f"naive restart took {cmp['naive_restart_s']} s · failed requests naive/blue-green: "
          f"{nf}/{bf} (ratio {ratio})")


if __name__ == "__main__":
    main()
