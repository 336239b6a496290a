"""P8: StatsD bridge ingestion rate with zero loss vs a bare Python UDP receive loop.

Both receivers run in their own process on 127.0.0.1 with the same large receive buffer and get
the same realistic stream (one line per datagram as Airflow's StatsD client sends them: counters
of 1, varying timers and gauges). On this 2-core machine a Python sender (~40-100 k datagrams/s
under load) is slower than either receiver, so a paced live stream would measure the sender.
Each measurement therefore:

1. pauses the receiver (SIGSTOP) and sends N lines, paced and sized so the kernel receive
   buffer (SO_RCVBUFFORCE, 256 MiB when allowed) holds them all — nothing can overflow;
2. resumes it (SIGCONT) and times how long it takes to ingest all N;
3. checks zero loss: the bare loop counts datagrams, the bridge's own exposition must show
   ``statsd_bridge_lines_total{outcome="ok"}`` and the mapped counter grow by exactly N (N/4).

The drain end is the receiver's own clock (bare loop: last recv; bridge:
``statsd_bridge_last_packet_timestamp_seconds``), so HTTP polling adds no error. A short live
paced stream is also checked for zero loss. Each receiver drains 5 bursts; the ratio is given
with medians (robust on a shared host) and with the best bursts (goal >= 50 %).

Run: ``.venv/bin/python bench/statsd_bridge.py`` (part of ``make bench``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
BIG_BUFFER = 256 * 1024 * 1024
LINES_PER_RUN = int(os.environ.get("BENCH_LINES", "150000")) // 4 * 4
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
LIVE_RATE, LIVE_SECONDS = 10_000, 2.0
_rng = random.Random(8)
LINES = [  # realistic mix: counters of 1, varying timers and gauges (4 kinds, cycled)
    line
    for _ in range(1024)
    for line in (
        b"airflow.pipeline.extract.records.bench_dag:1|c",
        b"airflow.dag.bench_dag.extract.duration:%d|ms" % _rng.randint(5, 5000),
        b"airflow.pipeline.transform.quality.bench_dag:%.3f|g" % _rng.random(),
        b"airflow.scheduler_heartbeat:1|c",
    )
]
MARK = b"__bench_mark__"


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def big_buffer(sock: socket.socket) -> int:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, BIG_BUFFER)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BIG_BUFFER)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def bare_loop(port: int, ready, results) -> None:
    """The baseline: blocking recv, count lines, report (count, last recv time) at each mark."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    big_buffer(sock)
    sock.bind((HOST, port))
    ready.set()
    count, last = 0, 0.0
    recv, clock = sock.recv, time.time
    while True:
        data = recv(65535)
        if data == MARK:
            results.put((count, last))
            count = 0
            continue
        if data == b"STOP":
            return
        count += data.count(b"\n") + 1
        last = clock()


def send(port: int, total: int, rate: float | None = None) -> None:
    """Send ``total`` lines, paced at ``rate`` lines/s in 2 ms slices when given."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sendto, addr, lines, mask = sock.sendto, (HOST, port), LINES, len(LINES) - 1
    chunk = max(1, int((rate or 1e9) * 0.002))
    start, sent = time.time(), 0
    while sent < total:
        n = min(chunk, total - sent)
        for i in range(sent, sent + n):
            sendto(lines[i & mask], addr)
        sent += n
        if rate:
            delay = start + sent / rate - time.time()
            if delay > 0:
                time.sleep(delay)
    sock.close()


def scrape(url: str) -> dict[str, float]:
    text = httpx.get(url, timeout=10).text
    out = {"ok": 0.0, "records": 0.0, "last": 0.0}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "statsd_bridge_lines_total" and s.labels.get("outcome") == "ok":
                out["ok"] = s.value
            elif fam.name == "airflow_pipeline_extract_records":
                out["records"] = s.value
            elif s.name == "statsd_bridge_last_packet_timestamp_seconds":
                out["last"] = s.value
    return out


class BridgeTarget:
    """The bridge in its own process, measured through its exposition."""

    def __init__(self) -> None:
        self.udp, web = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
        self.url = f"http://{HOST}:{web}/metrics"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsbook.observability.statsd_bridge",
             "--udp-port", str(self.udp),
             "--web-port", str(web), "--read-buffer", str(BIG_BUFFER), "--log-level", "error"],
            env=env)
        deadline = time.time() + 60
        while True:
            try:
                scrape(self.url)
                return
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("el puente no arrancó") from None
                time.sleep(0.2)

    def run(self, total: int, rate: float | None, paused: bool) -> tuple[bool, float]:
        before = scrape(self.url)
        if paused:
            self.proc.send_signal(signal.SIGSTOP)
        send(self.udp, total, rate)
        resumed = time.time()
        if paused:
            self.proc.send_signal(signal.SIGCONT)
        deadline, seen, last_change = time.time() + 120, -1.0, time.time()
        while time.time() < deadline:
            now = scrape(self.url)
            got = now["ok"] - before["ok"]
            if got >= total:
                ok = got == total and now["records"] - before["records"] == total // 4
                return ok, total / (now["last"] - resumed) if paused else 0.0
            if got != seen:
                seen, last_change = got, time.time()
            elif time.time() - last_change > 3:
                return False, 0.0
            time.sleep(0.1)
        return False, 0.0

    def close(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        self.proc.wait(10)


class BareTarget:
    """The bare receive loop in a child process."""

    def __init__(self) -> None:
        self.port = free_port(socket.SOCK_DGRAM)
        ready, self.results = mp.Event(), mp.Queue()
        self.proc = mp.Process(target=bare_loop, args=(self.port, ready, self.results),
                               daemon=True)
        self.proc.start()
        ready.wait(30)

    def run(self, total: int, rate: float | None, paused: bool) -> tuple[bool, float]:
        if paused:
            os.kill(self.proc.pid, signal.SIGSTOP)
        send(self.port, total, rate)
        resumed = time.time()
        if paused:
            os.kill(self.proc.pid, signal.SIGCONT)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        deadline = time.time() + 120
        while time.time() < deadline:
            sock.sendto(MARK, (HOST, self.port))
            try:
                count, last = self.results.get(timeout=5)
            except queue.Empty:
                continue
            return count == total, total / (last - resumed) if paused else 0.0
        return False, 0.0

    def close(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"STOP", (HOST, self.port))
        self.proc.join(5)


def measure(name: str, target) -> tuple[float, bool]:
    live_total = int(LIVE_RATE * LIVE_SECONDS) // 4 * 4
    live_ok, _ = target.run(live_total, LIVE_RATE, paused=False)
    print(f"  {name:6s} flujo en vivo {LIVE_RATE:,} líneas/s × {LIVE_SECONDS:.0f} s → "
          f"{'sin pérdida' if live_ok else 'PÉRDIDA'}", flush=True)
    rates = []
    for i in range(REPEATS):
        ok, rate = target.run(LINES_PER_RUN, None, paused=True)
        print(f"  {name:6s} ráfaga {i + 1}: {LINES_PER_RUN:,} líneas → "
              f"{'sin pérdida' if ok else 'PÉRDIDA'}, {rate:,.0f} líneas/s", flush=True)
        if ok:
            rates.append(rate)
    return rates, live_ok and len(rates) == REPEATS


def main() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        buffer = big_buffer(probe)
    print("P8 — puente StatsD vs bucle UDP mínimo (1 línea por datagrama, "
          f"búfer de recepción {buffer // 2 // 2**20} MiB)")
    bare_target = BareTarget()
    try:
        bare, bare_clean = measure("bucle", bare_target)
    finally:
        bare_target.close()
    bridge_target = BridgeTarget()
    try:
        ours, ours_clean = measure("puente", bridge_target)
    finally:
        bridge_target.close()
    med_bare, med_ours = statistics.median(bare or [0]), statistics.median(ours or [0])
    best_bare, best_ours = max(bare or [0]), max(ours or [0])
    print(f"bucle UDP mínimo : mediana {med_bare:>10,.0f} · mejor {best_bare:>10,.0f} líneas/s"
          f"{'' if bare_clean else ' (¡hubo pérdidas!)'}")
    print(f"puente StatsD    : mediana {med_ours:>10,.0f} · mejor {best_ours:>10,.0f} líneas/s"
          f"{'' if ours_clean else ' (¡hubo pérdidas!)'}")
    ratio = med_ours / med_bare if med_bare else 0.0
    best_ratio = best_ours / best_bare if best_bare else 0.0
    print(f"ratio puente/bucle = {ratio:.0%} con medianas, {best_ratio:.0%} con los mejores "
          "(objetivo ≥ 50 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
