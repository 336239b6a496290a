"""P8: StatsD bridge ingestion rate with zero loss vs a bare Python UDP receive loop.

Both receivers run in their own process with the same SO_RCVBUF (4 MiB) on 127.0.0.1 and get
the same paced stream of realistic Airflow/pipeline lines (one line per datagram, as Airflow's
StatsD client sends them). For each receiver the sender ramps its rate up (x1.5 per step) and
stops at the first step that loses a line; the figure reported is the best *ingested* rate
(lines / time from first send to last line processed) among the zero-loss steps. The bridge's
count comes from its own exposition (``statsd_bridge_lines_total{outcome="ok"}`` and the mapped
counter), the bare loop counts datagrams. Prints both numbers and the ratio (goal >= 50 %).

Run: ``.venv/bin/python bench/statsd_bridge.py`` (part of ``make bench``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
READ_BUFFER = 4 * 1024 * 1024
STEP_SECONDS = float(os.environ.get("BENCH_STEP_SECONDS", "1.5"))
START_RATE = float(os.environ.get("BENCH_START_RATE", "20000"))
MAX_STEPS = 9
LINES = [
    b"airflow.pipeline.extract.records.bench_dag:1|c",
    b"airflow.dag.bench_dag.extract.duration:15|ms",
    b"airflow.pipeline.transform.quality.bench_dag:0.97|g",
    b"airflow.scheduler_heartbeat:1|c",
]


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def bare_loop(port: int, ready, results) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, READ_BUFFER)
    sock.bind((HOST, port))
    sock.settimeout(0.5)
    ready.set()
    count, last = 0, 0.0
    while True:
        try:
            data = sock.recv(65535)
        except TimeoutError:
            if count:
                results.put((count, last))
                count = 0
            continue
        if data == b"STOP":
            return
        count += data.count(b"\n") + 1
        last = time.time()


def send_paced(port: int, rate: float, total: int) -> float:
    """Send ``total`` lines at ``rate`` lines/s in 2 ms slices; return the start time."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sendto, addr = sock.sendto, (HOST, port)
    chunk = max(1, int(rate * 0.002))
    start = time.time()
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        for i in range(sent, sent + n):
            sendto(LINES[i & 3], addr)
        sent += n
        delay = start + sent / rate - time.time()
        if delay > 0:
            time.sleep(delay)
    sock.close()
    return start


def scrape(url: str) -> dict[str, float]:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "statsd_bridge_lines_total" and s.labels.get("outcome") == "ok":
                out["ok"] = s.value
            if fam.name == "airflow_pipeline_extract_records":
                out["records"] = s.value
    return out


def measure_bridge(udp: int, url: str, rate: float, total: int) -> tuple[bool, float]:
    before = scrape(url)
    start = send_paced(udp, rate, total)
    deadline, last_change, seen = time.time() + 60, time.time(), before.get("ok", 0)
    while time.time() < deadline:
        now_counts = scrape(url)
        if now_counts.get("ok", 0) - before.get("ok", 0) >= total:
            done = time.time()
            records = now_counts.get("records", 0) - before.get("records", 0)
            return records == total // 4, total / (done - start)
        if now_counts.get("ok", 0) != seen:
            seen, last_change = now_counts.get("ok", 0), time.time()
        elif time.time() - last_change > 1.5:
            break
        time.sleep(0.05)
    return False, 0.0


def measure_bare(port: int, results, rate: float, total: int) -> tuple[bool, float]:
    start = send_paced(port, rate, total)
    count, last = results.get(timeout=60)
    return count == total, total / (last - start)


def ramp(name: str, measure) -> float:
    best, rate = 0.0, START_RATE
    for _ in range(MAX_STEPS):
        total = int(rate * STEP_SECONDS) // 4 * 4
        ok, ingested = measure(rate, total)
        print(f"  {name:6s} objetivo {rate:>9.0f} líneas/s → {'sin pérdida' if ok else 'PÉRDIDA'}"
              f" ({ingested:,.0f} líneas/s ingeridas)", flush=True)
        if not ok:
            break
        best = max(best, ingested)
        rate *= 1.5
    return best


def main() -> int:
    print("P8 — puente StatsD vs bucle UDP mínimo (1 línea por datagrama, SO_RCVBUF 4 MiB)")
    bare_port = free_port(socket.SOCK_DGRAM)
    ready, results = mp.Event(), mp.Queue()
    proc = mp.Process(target=bare_loop, args=(bare_port, ready, results), daemon=True)
    proc.start()
    ready.wait(10)
    try:
        bare = ramp("bucle", lambda r, n: measure_bare(bare_port, results, r, n))
    finally:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"STOP", (HOST, bare_port))
        proc.join(5)
    udp, web = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    bridge = subprocess.Popen(
        [sys.executable, "-m", "opsbook.statsd_bridge", "--udp-port", str(udp), "--web-port",
         str(web), "--read-buffer", str(READ_BUFFER), "--log-level", "warning"], env=env)
    url = f"http://{HOST}:{web}/metrics"
    try:
        deadline = time.time() + 30
        while True:
            try:
                scrape(url)
                break
            except OSError:
                if time.time() > deadline or bridge.poll() is not None:
                    raise RuntimeError("el puente no arrancó") from None
                time.sleep(0.1)
        ours = ramp("puente", lambda r, n: measure_bridge(udp, url, r, n))
    finally:
        bridge.terminate()
        bridge.wait(10)
    ratio = ours / bare if bare else 0.0
    print(f"bucle UDP mínimo : {bare:>10,.0f} líneas/s sin pérdida")
    print(f"puente StatsD    : {ours:>10,.0f} líneas/s sin pérdida")
    print(f"ratio puente/bucle = {ratio:.0%} (objetivo ≥ 50 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
