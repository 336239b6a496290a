"""``opsbook deploy RELEASE``: blue-green deploy of the api-server behind the front door.

Why this module exists: the syllabus's ``deploy-zero-downtime.sh`` becomes a thin wrapper over
this command. It runs the six logged steps of :mod:`opsbook.deploy.bluegreen` (optionally under the
load
generator, printing failed requests and latency percentiles) and exits 0 only when the new
version serves; a failed step leaves the previous version serving and exits 1 with the reason.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    """Add the ``deploy`` command to the ``opsbook`` parser.

    Args:
        subparsers: the object returned by ``add_subparsers`` of the top-level parser.
    """
    parser = subparsers.add_parser("deploy", help="despliegue blue-green sin caída (6 pasos)")
    parser.add_argument("release", help="etiqueta de la versión nueva (p. ej. v2)")
    parser.add_argument("--smoke-dag", default="smoke", help="DAG de la prueba de humo")
    parser.add_argument("--load", type=float, default=0.0,
                        help="peticiones/s a la puerta de entrada durante el despliegue")
    parser.add_argument("--json", action="store_true", help="resultado en JSON")
    parser.set_defaults(func=_deploy)


def _deploy(args: argparse.Namespace) -> int:
    from opsbook import records
    from opsbook.deploy import bluegreen as deploy

    if args.load < 0:
        print("ERROR: --load debe ser 0 o positivo", file=sys.stderr)
        return 2
    echo = None if args.json else print
    if args.load:
        from opsbook.deploy.zero_downtime import deploy_under_load

        result = deploy_under_load(args.release, rate=args.load, smoke_dag=args.smoke_dag,
                                   echo=echo)
    else:
        result = deploy.deploy(args.release, smoke_dag=args.smoke_dag, echo=echo)
    outcome = result.deploy if args.load else result
    if args.json:
        print(records.dumps(outcome if not args.load else
                            {**records.to_json(outcome), "load": result.load}))
    elif args.load:
        s = result.load
        print(f"carga: {s['requests']} peticiones, {s['failed']} fallidas, "
              f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms")
    if not outcome.ok:
        print(f"ERROR: despliegue abortado en el paso {outcome.failed_step}: "
              f"{outcome.reason}", file=sys.stderr)
        return 1
    return 0
