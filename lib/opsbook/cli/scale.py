"""``opsbook scale --workers N [--concurrency C]`` and ``opsbook workers``: Celery workers live.

Why this module exists: day 4 adds and removes Celery workers of a running Celery-mode stack
from a shell (removal is a warm shutdown: running tasks finish first) and checks them with
``celery inspect ping``. Heavy imports happen inside the handlers so ``opsbook --help`` stays
fast.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    """Add the ``scale`` and ``workers`` commands to the ``opsbook`` parser.

    Args:
        subparsers: the object returned by ``add_subparsers`` of the top-level parser.
    """
    parser = subparsers.add_parser(
        "scale", help="añade o quita workers Celery en vivo (modo celery)"
    )
    parser.add_argument("--workers", type=int, required=True, help="número de workers deseado")
    parser.add_argument("--concurrency", type=int, default=2, help="ranuras por worker")
    parser.set_defaults(func=scale_handler)
    ping = subparsers.add_parser("workers", help="celery inspect ping de los workers de la pila")
    ping.add_argument("--json", action="store_true", help="salida JSON")
    ping.set_defaults(func=_ping)


def scale_handler(args: argparse.Namespace) -> int:
    """Scale the workers (also usable by ``opsbook stack scale``)."""
    from opsbook.stack import celery_scale

    try:
        result = celery_scale.scale(args.workers, args.concurrency)
    except (RuntimeError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    print(f"añadidos: {result['added'] or '-'} · retirados (parada en caliente): "
          f"{result['removed'] or '-'} · reiniciados: {result['restarted'] or '-'}")
    for node, ok in result["workers"].items():
        print(f"  {node}: {'pong' if ok else 'SIN RESPUESTA'}")
    return 0


def _ping(args: argparse.Namespace) -> int:
    from opsbook.stack import celery_mode

    pong = celery_mode.worker_ping()
    if args.json:
        print(json.dumps(pong))
    elif not pong:
        print("ningún worker Celery responde (¿pila en modo local?)")
    for node, ok in pong.items():
        if not args.json:
            print(f"{node}: {'pong' if ok else 'SIN RESPUESTA'}")
    return 0 if pong and all(pong.values()) else 1
