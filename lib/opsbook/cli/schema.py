"""``opsbook schema``: compatibility check, validation and upgrade of customer data.

Why this module exists: the day-4 tools must be usable outside the notebook, the way a data
team would gate a schema change in CI. Exit codes of ``check``: 0 compatible, 1 incompatible
(every reason printed), 2 a schema file cannot be read (the parse error printed). ``validate``:
0 valid, 1 invalid records, 2 unreadable file. ``upgrade``: 0 written, 1 invalid records or a
lossy downgrade without ``--permitir-perdida``, 2 unreadable file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MODES = ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
         "FULL_TRANSITIVE", "NONE")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``schema check|validate|upgrade|matrix`` to the ``opsbook`` parser."""
    parser = subparsers.add_parser("schema", help="versionado de esquemas Avro de clientes")
    sub = parser.add_subparsers(dest="schema_command", metavar="ACCION")
    sub.required = True

    chk = sub.add_parser("check", help="compatibilidad de un esquema nuevo con los anteriores")
    chk.add_argument("--mode", required=True, type=str.upper, choices=MODES,
                     help="modo del Schema Registry")
    chk.add_argument("new", type=Path, help="esquema nuevo (.avsc)")
    chk.add_argument("previous", type=Path, nargs="+",
                     help="versiones anteriores, la más reciente primero")
    chk.set_defaults(func=_check)

    val = sub.add_parser("validate", help="valida un fichero de clientes (csv, jsonl, avro)")
    val.add_argument("file", type=Path)
    val.add_argument("--version", type=int, default=None,
                     help="versión contra la que validar (por defecto la que declara el fichero)")
    val.set_defaults(func=_validate)

    upg = sub.add_parser("upgrade", help="convierte un fichero de clientes a otra versión")
    upg.add_argument("file", type=Path)
    upg.add_argument("--to", type=int, default=None, help="versión destino (defecto: la última)")
    upg.add_argument("--output", type=Path, default=Path("."), help="carpeta de salida")
    upg.add_argument("--format", choices=("csv", "jsonl", "avro"), default=None,
                     help="formato de salida (defecto: el del fichero de entrada)")
    upg.add_argument("--permitir-perdida", action="store_true", dest="allow_loss",
                     help="permite un downgrade que descarta datos (se listan igualmente)")
    upg.set_defaults(func=_upgrade)

    mat = sub.add_parser("matrix", help="matriz lector × escritor de v1..v4 (propuesta)")
    mat.set_defaults(func=_matrix)


def _check(args: argparse.Namespace) -> int:
    from opsbook.pipeline.avro_compat import SchemaFileError, check, load_schema_file

    try:
        new = load_schema_file(args.new)
        previous = [load_schema_file(p) for p in args.previous]
    except SchemaFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = check(args.mode, new, previous)
    print(report.describe())
    return 0 if report.compatible else 1


def _read(path: Path):
    from opsbook.pipeline.customer_files import CustomerFileError, read_customer_file

    try:
        return read_customer_file(path)
    except (CustomerFileError, OSError) as exc:
        print(f"error: {path.name}: {exc}", file=sys.stderr)
        return None


def _validate(args: argparse.Namespace) -> int:
    from opsbook.pipeline.schema_registry import registry

    data = _read(args.file)
    if data is None:
        return 2
    version = args.version or data.version
    errors = registry().validate(data.records, version)
    for error in errors:
        print(f"  - {error}")
    verdict = "VÁLIDO" if not errors else f"INVÁLIDO ({len(errors)} errores)"
    print(f"{args.file.name}: {len(data.records)} registros, {data.origin}, v{version}: {verdict}")
    return 0 if not errors else 1


def _upgrade(args: argparse.Namespace) -> int:
    from opsbook.pipeline.customer_files import write_customer_file
    from opsbook.pipeline.schema_registry import DataLossError, registry

    reg = registry()
    data = _read(args.file)
    if data is None:
        return 2
    errors = reg.validate(data.records, data.version)
    if errors:
        for error in errors:
            print(f"  - {error}")
        print(f"{args.file.name}: {len(errors)} errores contra v{data.version}; no se convierte")
        return 1
    target = args.to or reg.latest
    try:
        if target >= data.version:
            upgrade = reg.upgrader(data.version, target)
            records = [upgrade(r) for r in data.records]
        else:
            for index, record in enumerate(data.records):
                for loss in reg.downgrade_losses(record, data.version, target):
                    print(f"  - registro {index}: {loss}")
            records = [reg.downgrade(r, data.version, target, args.allow_loss)
                       for r in data.records]
    except (DataLossError, KeyError) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    fmt = args.format or args.file.suffix.lstrip(".")
    stem = args.file.stem.split("_", 2)[-1] if args.file.stem.startswith("clientes_v") else \
        args.file.stem
    out = write_customer_file(args.output, records, target, fmt, name=stem)
    print(f"{args.file.name} (v{data.version}) → {out} (v{target}): {len(records)} registros")
    return 0


def _matrix(args: argparse.Namespace) -> int:
    from opsbook.pipeline.versioning import read_matrix

    frame = read_matrix().replace({True: "lee", False: "NO lee"})
    print(frame.to_string())
    return 0
