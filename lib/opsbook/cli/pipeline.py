"""``opsbook pipeline run|estado``: load one date from a file, or see what a date holds.

Why this module exists: an operator reloads a date from a file that arrived by hand, or checks
the warehouse after an incident, without Airflow. ``run`` calls the same extract → transform →
load functions as the DAG (through :mod:`opsbook.pipeline.manual`), behind the same load gate.

Exit codes: 0 loaded (or status shown), 1 the load gate kept the date's rows or the warehouse
failed, 2 bad input (date, missing file, wrong schema).
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pipeline`` command.

    Args:
        subparsers: the sub-parser collection of the ``opsbook`` parser.
    """
    parser = subparsers.add_parser("pipeline", help="ejecuta pipeline_ventas para una fecha y un "
                                   "fichero, o muestra qué tiene el almacén de una fecha")
    sub = parser.add_subparsers(dest="action", metavar="ACCION")
    sub.required = True
    p_run = sub.add_parser("run", help="extract → transform → load de un fichero para una fecha")
    p_run.add_argument("--fecha", required=True, help="fecha lógica AAAA-MM-DD")
    p_run.add_argument("--fichero", required=True, help="fichero CSV de ventas")
    p_run.add_argument("--forzar", action="store_true",
                       help="cargar aunque la compuerta de volumen lo rechace (queda registrado)")
    p_run.add_argument("--json", action="store_true", help="salida JSON")
    p_run.set_defaults(func=_run)
    p_state = sub.add_parser("estado", help="qué tiene el almacén para una fecha")
    p_state.add_argument("--fecha", required=True, help="fecha lógica AAAA-MM-DD")
    p_state.add_argument("--json", action="store_true", help="salida JSON")
    p_state.set_defaults(func=_estado)


def _call(fn, as_json: bool):
    """Run ``fn()`` mapping the pipeline's errors to exit codes; print JSON if asked.

    Returns:
        ``(result, None)`` on success (``result`` is ``None`` when JSON was printed) or
        ``(None, exit_code)``: 2 bad input, 1 warehouse failure.
    """
    from opsbook.pipeline import manual
    from opsbook.pipeline.warehouse import WarehouseError

    try:
        result = fn()
    except manual.InputError as exc:
        print(f"error: {exc}")
        return None, 2
    except WarehouseError as exc:
        print(f"error del almacén: {exc}")
        return None, 1
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    return result, None


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from opsbook.pipeline import manual

    report, code = _call(lambda: manual.run(args.fecha, Path(args.fichero), forzar=args.forzar),
                         args.json)
    if code is not None:
        return code
    if not args.json:
        print(f"{report.fecha} ← {report.fichero}: {report.estado}")
        print(f"  filas leídas:      {report.filas_leidas}")
        print(f"  filas válidas:     {report.filas_validas}")
        print(f"  filas cargadas:    {report.filas_cargadas}")
        print(f"  en cuarentena:     {report.en_cuarentena}")
        for reason, rows in report.cuarentena_por_motivo.items():
            print(f"    {reason}: {rows}")
        print(f"  filas antes/ahora: {report.filas_antes} → {report.filas_en_almacen}")
        if report.compuerta:
            print(f"  compuerta: {report.compuerta}")
    return 0 if report.estado == "cargada" else 1


def _estado(args: argparse.Namespace) -> int:
    from opsbook.pipeline import manual

    state, code = _call(lambda: manual.date_status(args.fecha), args.json)
    if code is not None:
        return code
    if args.json:
        return 0
    print(f"{state.fecha}: {state.filas_en_almacen} filas en el almacén, "
          f"{state.filas_en_cuarentena} en cuarentena")
    for reason, rows in state.cuarentena_por_motivo.items():
        print(f"  {reason}: {rows}")
    for gen in state.generaciones:
        print(f"  punto de control -{gen['atras']} (generación {gen['generation']}, "
              f"{gen['tomado']}): {gen['filas']} filas")
    for load in state.ultimas_cargas:
        print(f"  {load['momento']} {load['decision']}: {load['filas_antes']} → "
              f"{load['filas_nuevas']} {load['detalle']}")
    return 0
