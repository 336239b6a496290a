"""``opsbook notebooks run|export``: execute the day notebooks and publish them for grading.

Why this module exists: ``make run`` ends with ``opsbook notebooks run`` and ``make export``
calls ``opsbook notebooks export``; the work is in :mod:`opsbook.course.runner` and
:mod:`opsbook.course.instructor_index` (imported inside the handlers to keep ``--help`` fast).
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    """Add the ``notebooks`` command to the ``opsbook`` parser.

    Args:
        subparsers: the object returned by ``add_subparsers`` of the top-level parser.
    """
    parser = subparsers.add_parser(
        "notebooks", help="ejecuta los cuadernos (papermill) y exporta HTML + índice"
    )
    sub = parser.add_subparsers(dest="action", metavar="ACCION")
    sub.required = True
    p_run = sub.add_parser("run", help="ejecuta los cuadernos en orden, exporta HTML e índice")
    p_run.add_argument("--only", nargs="+", metavar="dia_N",
                       help="solo los cuadernos cuyo nombre empieza así (p. ej. dia_5)")
    p_run.add_argument("--timeout", type=float, default=None,
                       help="plazo por celda en segundos (sin límite por defecto)")
    p_run.add_argument("--no-progress", action="store_true", help="sin barra de progreso")
    p_run.set_defaults(func=_run)
    p_exp = sub.add_parser("export", help="solo exporta a HTML lo ya ejecutado y rehace el índice")
    p_exp.set_defaults(func=_export)


def _publish() -> None:
    from opsbook.course import instructor_index
    from opsbook.course.runner import export_all

    print("Exportando a HTML (plantilla lab, parámetros inyectados ocultos)…", flush=True)
    export_all()
    index = instructor_index.build_index()
    print(f"Índice del instructor: {index}")
    shot = instructor_index.screenshot(index)
    if shot:
        print(f"Captura del índice: {shot}")
    else:
        print("AVISO: sin captura del índice (Chromium no está instalado: "
              "apt-get install --no-install-recommends chromium)")


def _run(args: argparse.Namespace) -> int:
    from opsbook.course.preflight import PreflightError
    from opsbook.course.runner import run_all

    try:
        runs = run_all(only=args.only, timeout_s=args.timeout, progress=not args.no_progress)
    except ValueError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    except PreflightError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    _publish()
    failed = [r for r in runs if r.status != "passed"]
    print(f"{len(runs) - len(failed)} de {len(runs)} cuadernos correctos.")
    for r in failed:
        where = f" en la celda In [{r.failed_cell}]" if r.failed_cell else ""
        print(f"  ✗ {r.name}{where}: {r.error}", file=sys.stderr)
    return 1 if failed or not runs else 0


def _export(args: argparse.Namespace) -> int:
    _publish()
    return 0
