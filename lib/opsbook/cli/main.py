"""The ``opsbook`` console script.

Why this module exists: one entry point for every command of the course (``opsbook stack up``,
``opsbook schema check``, ``opsbook drill pipeline_down`` ...). Each command lives in its own
module under :mod:`opsbook.cli` and registers itself through ``register(subparsers)``;
this module only discovers them, so adding a command never edits a shared file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from opsbook import cli as commands


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every command module found in :mod:`opsbook.cli`.

    Returns:
        The top-level parser; each sub-command sets ``func`` (called with the parsed args).
    """
    parser = argparse.ArgumentParser(
        prog="opsbook", description="Cuaderno de la Semana 4: operación de pipelines de datos."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMANDO")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name == "main":
            continue  # this module: the entry point, not a command
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Args:
        argv: arguments without the program name (default ``sys.argv[1:]``).
    """
    args = build_parser().parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
