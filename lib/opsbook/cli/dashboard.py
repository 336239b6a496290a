"""``opsbook dashboard``: regenerate the Grafana dashboard JSON from the signals catalog.

Why this module exists: the dashboard is code (:mod:`opsbook.observability.dashboard`); this command
writes
``monitoring/grafana/dashboards/pipeline.json`` again after a signal changes, or checks that
the committed file is current (``--check``, what CI's unit test does too).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dashboard`` command.

    Args:
        subparsers: the sub-parser collection of the ``opsbook`` parser.
    """
    parser = subparsers.add_parser(
        "dashboard", help="regenera el dashboard de Grafana desde opsbook.observability.signals"
    )
    parser.add_argument("--check", action="store_true",
                        help="no escribe: falla si el JSON confirmado está desactualizado")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Write (or check) the dashboard file and report in Spanish.

    Args:
        args: parsed arguments (``check``).

    Returns:
        0 on success, 1 when ``--check`` finds a stale file.
    """
    from opsbook.observability import dashboard

    path = dashboard.output_path()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != dashboard.render():
            print(f"{path} está desactualizado: ejecuta 'opsbook dashboard' y confírmalo")
            return 1
        print(f"{path} al día ({len(dashboard.panel_queries())} consultas)")
        return 0
    dashboard.write(path)
    print(f"dashboard escrito en {path} ({len(dashboard.panel_queries())} consultas)")
    return 0
