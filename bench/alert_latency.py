"""P4 and P5: how fast does monitoring see the pipeline?

P4  emit → queryable: one StatsD packet (the line the DAG's stats client sends) until
    Prometheus answers it. Baseline measured in the same run: emit → visible on the bridge's
    own ``/metrics`` (what Prometheus scrapes). Physical floor: the scrape interval (a sample
    waits on average half an interval, at most one).
P5  DAG failure → webhook: the failure packet the DAG's ``on_failure_callback`` sends until the
    ``PipelineDagFailed`` firing notification reaches ``opsbook.observability.alert_receiver``.
    Physical floor: the rule's ``for`` + Alertmanager ``group_wait`` (plus up to one scrape and one
    evaluation interval). Each repetition uses a fresh probe ``dag_id`` (a counter born at 1,
    its own Alertmanager group); the runbook is paused meanwhile.

Prints median / max of ≥ 5 repetitions and the ratios against the baseline and the floor.
Starts the stack when it is not running (and stops it again). ``--reps N`` (default 8 / 5).

Run: ``.venv/bin/python bench/alert_latency.py`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid

import httpx
from opsbook.observability import alerts, prom, signals
from opsbook.settings import settings
from opsbook.stack import lifecycle as stack


def bridge_has(series: str, value: float) -> bool:
    """True when the bridge's /metrics exposes ``series`` with ``value``."""
    for line in httpx.get(settings.bridge_url, timeout=5).text.splitlines():
        if line.startswith(series + " ") and float(line.split()[-1]) == value:
            return True
    return False


def p4_once(i: int, timeout_s: float = 30.0) -> tuple[float, float]:
    """One emit → (bridge visible, Prometheus queryable) measurement, seconds."""
    dag_id = "sonda_latencia"
    # de-phase from the scrape clock: the previous repetition ended right after a scrape
    time.sleep(random.uniform(0, settings.scrape_interval_s))
    value = float(int(time.time() * 1000) % 10_000_000 + i)  # unique, exact in float
    series = f'airflow_pipeline_load_throughput{{dag_id="{dag_id}"}}'
    expr = f"{series} == {value:.0f}"
    t0 = time.perf_counter()
    alerts.send_statsd("load_throughput", value, dag_id)
    t_bridge = t_prom = None
    deadline = t0 + timeout_s
    while (t_bridge is None or t_prom is None) and time.perf_counter() < deadline:
        if t_bridge is None and bridge_has(series, value):
            t_bridge = time.perf_counter() - t0
        if t_prom is None and not prom.query(expr).empty:
            t_prom = time.perf_counter() - t0
        time.sleep(0.02)
    if t_bridge is None or t_prom is None:
        raise TimeoutError(f"P4: la muestra {value} no apareció en {timeout_s:g} s")
    return t_bridge, t_prom


def p5_once(timeout_s: float = 60.0) -> float:
    """One failure packet → firing notification at the webhook, seconds."""
    dag_id = f"sonda_p5_{uuid.uuid4().hex[:6]}"
    origin = time.time()
    alerts.send_statsd("dag_failure", 1, dag_id)
    trace = alerts.follow("PipelineDagFailed", origin, match={"dag_id": dag_id},
                          until="received", timeout_s=timeout_s, interval_s=0.1)
    return trace.received - origin


def floors() -> dict[str, float]:
    """Physical floors from the live configuration (scrape/eval interval, for, group_wait)."""
    group_wait = alerts.routing_waits()["group_wait_s"]
    rule = signals.alert_rule("PipelineDagFailed")
    return {"scrape_s": settings.scrape_interval_s, "for_s": rule.for_s,
            "group_wait_s": group_wait, "p5_floor_s": rule.for_s + group_wait}


def summary(name: str, values: list[float]) -> str:
    """``median / max`` line."""
    return f"{name}: mediana {statistics.median(values):.3f} s · máx {max(values):.3f} s"


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=8, help="repeticiones de P4 (≥ 5)")
    parser.add_argument("--reps-p5", type=int, default=5, help="repeticiones de P5 (≥ 5)")
    args = parser.parse_args()
    if min(args.reps, args.reps_p5) < 5:
        print("usa al menos 5 repeticiones (--reps / --reps-p5)", file=sys.stderr)
        return 2
    started = False
    if not stack.is_healthy():
        print("la pila no está arriba: la arranco (opsbook stack up)…")
        stack.up(progress=False)
        started = True
    try:
        f = floors()
        print(f"intervalos: scrape/evaluación {f['scrape_s']:g} s · for {f['for_s']:g} s · "
              f"group_wait {f['group_wait_s']:g} s")
        bridge, queryable = zip(*(p4_once(i) for i in range(args.reps)), strict=True)
        print("P4 emisión → consultable en Prometheus")
        print("  " + summary("baseline emisión → /metrics del puente", list(bridge)))
        print("  " + summary("emisión → consulta en Prometheus", list(queryable)))
        med = statistics.median(queryable)
        print(f"  ratio vs baseline: {med / max(statistics.median(bridge), 1e-3):.1f}× · "
              f"ratio vs suelo (1 scrape = {f['scrape_s']:g} s): {med / f['scrape_s']:.2f}×")
        with alerts.runbook_paused():
            p5 = [p5_once() for _ in range(args.reps_p5)]
        print("P5 fallo del DAG (paquete del callback) → notificación en el webhook")
        print("  " + summary("fallo → webhook", p5))
        floor = f["p5_floor_s"]
        upper = floor + 2 * f["scrape_s"]
        print(f"  suelo físico for + group_wait = {floor:g} s (hasta {upper:g} s con un scrape "
              f"y una evaluación): ratio mediana/suelo {statistics.median(p5) / floor:.2f}×")
    finally:
        if started:
            stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
