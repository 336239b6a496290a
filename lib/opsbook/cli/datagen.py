"""``opsbook datagen``: write the sales landing file of a date, with defects in known numbers.

Why this module exists: the instructor and the notebooks prepare the input of
``pipeline_ventas`` (e.g. a big file, a file with schema drift) without Airflow; the DAG's
``generate_landing`` task keeps a file written here when its manifest matches the run params.
"""

from __future__ import annotations

import argparse
from datetime import date


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``datagen`` command.

    Args:
        subparsers: the sub-parser collection of the ``opsbook`` parser.
    """
    parser = subparsers.add_parser(
        "datagen", help="genera el fichero de ventas de una fecha (var/landing/ventas_<fecha>.csv)"
    )
    parser.add_argument("--date", default=date.today().isoformat(),
                        help="fecha lógica AAAA-MM-DD (por defecto hoy)")
    parser.add_argument("--rows", type=int, default=2000, help="filas de datos (por defecto 2000)")
    parser.add_argument("--bad-fraction", type=float, default=0.05,
                        help="fracción de filas defectuosas, 0..0.5 (por defecto 0.05)")
    parser.add_argument("--seed", type=int, default=42, help="semilla (por defecto 42)")
    parser.add_argument("--drift", default="none",
                        choices=["none", "extra_column", "missing_column"],
                        help="deriva de esquema del fichero (por defecto none)")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Generate the file and print what the pipeline must find in it.

    Args:
        args: parsed arguments (``date``, ``rows``, ``bad_fraction``, ``seed``, ``drift``).

    Returns:
        0 on success, 2 on a bad argument (message in Spanish).
    """
    from opsbook.pipeline import datagen

    try:
        landing = datagen.generate(args.date, n_rows=args.rows, bad_fraction=args.bad_fraction,
                                   seed=args.seed, drift=args.drift)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    print(f"{landing.path}: {landing.rows} filas, {landing.valid_rows} válidas")
    for reason, count in landing.expected.items():
        if count:
            print(f"  {reason}: {count}")
    return 0
