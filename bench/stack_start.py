"""P1/P2: cold start to all-healthy and total PSS of the native stack vs `airflow standalone`.

Both run on this machine in the same invocation, each from an empty temporary home (so both
pay `airflow db migrate`), examples off for both, on free ports (the course stack may be up).
"Healthy" = Airflow's /api/v2/monitor/health reports metadatabase, scheduler, triggerer and
dag_processor healthy (plus, for ours, Prometheus/Alertmanager/bridge/front door and the
warmed execution API). PSS = sum over the whole process tree (psutil), maximum of 5 samples
taken 1 s apart once healthy. Prints the ratios (goal: ≤ 0.6× time, ≤ 0.6× PSS).

The two are measured in ``--rondas`` interleaved pairs (ours, then standalone, three times by
default) and the verdict uses the median of the pairs' ratios: on the 2-core VMs of the course
one pair's time ratio moves ±0.1 from one run to the next (standalone alone 10.2–15.7 s on one
machine within an hour), and a pair measured back to back shares the host's load of the moment.
Every pair is printed.

Usage: .venv/bin/python bench/stack_start.py [--rondas 3] [--offset 2000] [--timeout 600]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
from opsbook import loopback  # noqa: E402
from opsbook.stack.profile import pss  # noqa: E402


def max_pss(get_procs, samples: int = 5) -> tuple[int, int]:
    best, count = 0, 0
    for i in range(samples):
        procs = get_procs()
        value = pss(procs)
        if value > best:
            best, count = value, len(procs)
        if i < samples - 1:
            time.sleep(1)
    return best, count


def airflow_healthy(port: int) -> bool:
    from opsbook.airflow.paths import health_url

    try:
        # the shared client, as our own waits use: polling must not tax standalone's start
        doc = loopback.get(health_url(f"http://127.0.0.1:{port}"), timeout=3).json()
    except (httpx.HTTPError, ValueError):
        return False
    keys = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((doc.get(k) or {}).get("status") == "healthy" for k in keys)


def bench_ours(offset: int, timeout_s: float, workdir: Path) -> dict:
    os.environ["OPSBOOK_PORT_OFFSET"] = str(offset)
    os.environ["OPSBOOK_VAR_DIR"] = str(workdir / "var")
    for key in [k for k in os.environ if k.startswith("OPSBOOK_") and k.endswith("_PORT")]:
        del os.environ[key]
    from opsbook.settings import Settings
    from opsbook.stack import health
    from opsbook.stack import lifecycle as stack

    cfg = Settings.from_env()
    t0 = time.monotonic()
    try:
        stack.up(cfg=cfg, timeout_s=timeout_s, progress=False)
        elapsed = time.monotonic() - t0
        pss, nproc = max_pss(lambda: health.stack_processes(cfg))
    finally:
        result = stack.down(cfg=cfg, strict=False)
    return {
        "seconds": elapsed,
        "pss": pss,
        "processes": nproc,
        "survivors": len(result["survivors"]),
    }


def bench_standalone(offset: int, timeout_s: float, workdir: Path) -> dict:
    home = workdir / "standalone"
    home.mkdir()
    port = 8080 + offset + 50
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **inherited,
        "PATH": f"{venv_bin}:{inherited.get('PATH', '')}",  # standalone spawns `airflow ...`
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(8793 + offset + 50),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(8794 + offset + 50),
        "PYTHONWARNINGS": "ignore",
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    log = open(workdir / "standalone.log", "wb")  # noqa: SIM115
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [airflow, "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    root = psutil.Process(proc.pid)
    try:
        deadline = t0 + timeout_s
        while not airflow_healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"standalone no quedó sano: mira {workdir / 'standalone.log'}")
            time.sleep(0.5)
        elapsed = time.monotonic() - t0
        pss, nproc = max_pss(lambda: [root, *root.children(recursive=True)])
    finally:
        procs = [root, *root.children(recursive=True)]
        os.killpg(proc.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=30)
        for p in alive:
            p.kill()
        psutil.wait_procs(alive, timeout=10)
        log.close()
    return {"seconds": elapsed, "pss": pss, "processes": nproc}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rondas", type=int, default=3,
                        help="pares opsbook/standalone intercalados (se usa la mediana)")
    parser.add_argument("--offset", type=int, default=2000, help="port offset of both stacks")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    mib = 1024 * 1024
    pairs: list[tuple[dict, dict]] = []
    for n in range(1, max(1, args.rondas) + 1):
        with tempfile.TemporaryDirectory(prefix="opsbook-bench-") as tmp:
            workdir = Path(tmp)
            ours = bench_ours(args.offset, args.timeout, workdir)
            base = bench_standalone(args.offset, args.timeout, workdir)
        pairs.append((ours, base))
        print(
            f"ronda {n}: opsbook {ours['seconds']:.1f} s, {ours['pss'] / mib:.0f} MiB; "
            f"standalone {base['seconds']:.1f} s, {base['pss'] / mib:.0f} MiB; "
            f"razón {ours['seconds'] / base['seconds']:.2f} / {ours['pss'] / base['pss']:.2f}",
            flush=True,
        )
    t_ratio = statistics.median(o["seconds"] / b["seconds"] for o, b in pairs)
    m_ratio = statistics.median(o["pss"] / b["pss"] for o, b in pairs)
    ours_s = statistics.median(o["seconds"] for o, _ in pairs)
    base_s = statistics.median(b["seconds"] for _, b in pairs)
    ours_m = statistics.median(o["pss"] for o, _ in pairs) / mib
    base_m = statistics.median(b["pss"] for _, b in pairs) / mib
    survivors = sum(o["survivors"] for o, _ in pairs)
    print(f"medianas de {len(pairs)} ronda(s)")
    print(f"{'':24}{'opsbook':>12}{'standalone':>12}{'razón':>8}")
    print(f"{'cold start → sano (s)':24}{ours_s:12.1f}{base_s:12.1f}{t_ratio:8.2f}")
    print(f"{'PSS total (MiB)':24}{ours_m:12.0f}{base_m:12.0f}{m_ratio:8.2f}")
    print(f"{'procesos':24}{pairs[-1][0]['processes']:12d}{pairs[-1][1]['processes']:12d}")
    print(
        f"objetivo ≤ 0.60× (mediana de las razones): tiempo {'OK' if t_ratio <= 0.6 else 'NO'}, "
        f"PSS {'OK' if m_ratio <= 0.6 else 'NO'}; supervivientes tras down: {survivors}"
    )
    return 0 if survivors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
