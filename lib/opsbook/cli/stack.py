"""``opsbook stack up|down|status [--json]``: drive the native stack from a shell.

Why this module exists: ``make run``, ``make test`` and students start and stop the stack with
one command; heavy imports happen inside the handlers so ``opsbook --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    """Add the ``stack`` command to the ``opsbook`` parser.

    Args:
        subparsers: the object returned by ``add_subparsers`` of the top-level parser.
    """
    parser = subparsers.add_parser("stack", help="arranca, para o inspecciona la pila nativa")
    sub = parser.add_subparsers(dest="action", metavar="ACCION")
    sub.required = True
    p_up = sub.add_parser("up", help="arranca la pila y espera a que esté sana")
    p_up.add_argument("--executor", choices=["local", "celery"], default="local")
    p_up.add_argument("--workers", type=int, default=0, help="workers Celery (modo celery)")
    p_up.add_argument("--timeout", type=float, default=None, help="plazo en segundos")
    p_up.add_argument("--quiet", action="store_true", help="sin barra de progreso")
    p_up.set_defaults(func=_up)
    p_down = sub.add_parser("down", help="para todo y comprueba que no queda ningún proceso")
    p_down.set_defaults(func=_down)
    p_st = sub.add_parser("status", help="estado, pid, puerto y salud de cada componente")
    p_st.add_argument("--json", action="store_true", help="salida JSON")
    p_st.set_defaults(func=_status)
    p_ce = sub.add_parser(
        "compose-env", help="escribe var/compose.env (secretos para docker compose)"
    )
    p_ce.set_defaults(func=_compose_env)
    p_sc = sub.add_parser("scale", help="añade o quita workers Celery en vivo (modo celery)")
    p_sc.add_argument("--workers", type=int, required=True, help="número de workers deseado")
    p_sc.add_argument("--concurrency", type=int, default=2, help="ranuras por worker")
    p_sc.set_defaults(func=_scale)


def _scale(args) -> int:
    from opsbook.cli.scale import scale_handler

    return scale_handler(args)


def _print_status(st: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"pila opsbook — modo {st['mode'].get('executor') or '?'}")
    for col in ("componente", "estado", "pid", "puerto", "salud"):
        table.add_column(col)
    for name, comp in st["components"].items():
        mark = "[green]sano[/]" if comp["healthy"] else "[red]no sano[/]"
        table.add_row(name, comp["state"], str(comp["pid"] or "-"), str(comp["port"] or "-"), mark)
    console = Console()
    console.print(table)
    verdict = "[green]SANA[/]" if st["healthy"] else "[red]NO SANA[/]"
    console.print(f"supervisord pid {st['supervisord_pid'] or '-'} · pila {verdict}")


def _up(args: argparse.Namespace) -> int:
    from opsbook.stack import lifecycle as stack

    kwargs = {} if args.timeout is None else {"timeout_s": args.timeout}
    try:
        st = stack.up(args.executor, args.workers, progress=not args.quiet, **kwargs)
    except (stack.StackError, ValueError, FileNotFoundError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    _print_status(st)
    return 0


def _down(args: argparse.Namespace) -> int:
    from opsbook.stack import lifecycle as stack

    result = stack.down(strict=False)
    for proc in result["strays"]:
        print(f"AVISO: huérfano de la pila barrido {proc['pid']} ({proc['reason']}): {proc['cmd']}")
    for proc in result["killed"]:
        print(f"AVISO: proceso {proc['pid']} no paró a tiempo; enviado SIGKILL: {proc['cmd']}")
    if result["survivors"]:
        for proc in result["survivors"]:
            print(f"ERROR: sigue vivo {proc['pid']}: {proc['cmd']}", file=sys.stderr)
        return 1
    print(f"pila parada: {result['stopped']} procesos terminados, ninguno sigue vivo")
    return 0


def _status(args: argparse.Namespace) -> int:
    from opsbook.stack import lifecycle as stack

    st = stack.status()
    if args.json:
        print(json.dumps(st, indent=2))
    else:
        _print_status(st)
    return 0 if st["healthy"] else 3


def _compose_env(args: argparse.Namespace) -> int:
    from opsbook.stack.compose_env import write_compose_env

    path = write_compose_env()
    print(f"escrito {path} (no se versiona); ahora: docker compose up -d")
    return 0
