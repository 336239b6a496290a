"""CPU of one look at the stack's health: a new httpx client per URL vs the shared client.

`opsbook stack up` and every wait on the stack look at ~8 health URLs every 0.5 s. With
``httpx.get`` each URL built a client (SSL context + CA bundle) per call; ``opsbook.loopback``
shares one per process. Both variants poll the same URLs of the running stack (or, when it is
down, connection-refused URLs: the client cost is the same) in this run.

Usage: .venv/bin/python bench/health_poll.py [--polls 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))
from opsbook import loopback  # noqa: E402
from opsbook.settings import settings  # noqa: E402
from opsbook.stack.lifecycle import plan  # noqa: E402


def cpu_per_poll(get, urls: list[str], polls: int) -> float:
    start = time.process_time()
    for _ in range(polls):
        for url in urls:
            try:
                get(url, timeout=2)
            except httpx.HTTPError:
                pass
    return (time.process_time() - start) / polls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=20)
    args = parser.parse_args()
    urls = [p.health_url for p in plan(settings, "local", 0) if p.health_url]
    loopback.client()  # built once, as in a real process
    baseline = cpu_per_poll(httpx.get, urls, args.polls)
    shared = cpu_per_poll(loopback.get, urls, args.polls)
    print(f"{len(urls)} URLs por vistazo, {args.polls} vistazos")
    print(f"{'':28}{'CPU ms/vistazo':>16}")
    print(f"{'httpx.get (cliente nuevo)':28}{baseline * 1000:16.1f}")
    print(f"{'opsbook.loopback (uno)':28}{shared * 1000:16.1f}")
    print(f"razón: {shared / baseline:.3f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
