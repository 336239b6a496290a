"""``opsbook drill pipeline_down|data_corruption|db_unreachable``: a real incident drill.

Why this module exists: the day-3 drills must be runnable from a shell (on-call practice) as
well as from the notebook and the tests; this command runs one, saves its timeline and
post-mortem as evidence and exits 0 only when the stack recovered with nothing lost.
"""

from __future__ import annotations

import argparse

DRILL_NAMES = ("pipeline_down", "data_corruption", "db_unreachable")


def register(subparsers) -> None:
    """Add the ``drill`` command to the ``opsbook`` parser.

    Args:
        subparsers: the object returned by ``add_subparsers`` of the top-level parser.
    """
    parser = subparsers.add_parser("drill", help="simulacro de incidente real contra la pila")
    parser.add_argument("tipo", choices=DRILL_NAMES, help="incidente a provocar")
    parser.add_argument("--json", action="store_true", help="imprime el resultado en JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from opsbook import records
    from opsbook.incidents import drills

    try:
        result = drills.run(args.tipo)
    except drills.DrillRefused as exc:
        print(f"simulacro rechazado: {exc}")
        return 2
    paths = drills.save_evidence(result)
    if args.json:
        print(records.dumps({k: v for k, v in result.record().items() if k != "postmortem"}))
        return 0 if result.ok else 1
    inc = result.incident or {}
    print(f"simulacro {args.tipo}: {'RECUPERADO' if result.ok else 'CON PROBLEMAS'}")
    print(f"  incidente {inc.get('id', '-')} · estado {inc.get('status', '-')} · "
          f"MTTR {result.mttr_s} s")
    for event in sorted(result.events + inc.get("timeline", []), key=lambda e: e["t"]):
        mark = {True: "ok", False: "FALLO", None: "·"}[event["ok"]]
        print(f"  {event['ts'][11:23]} {event['phase']:<9} {mark:<5} {event['step']}")
    if result.still_broken:
        print("  SIGUE ROTO: " + "; ".join(result.still_broken))
    for kind, path in paths.items():
        print(f"  {kind}: {path}")
    return 0 if result.ok else 1
