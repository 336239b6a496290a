"""``make rerun``: every day × {first run, second run, right after a restart}, as one table.

Starts the stack when needed, runs each day twice on it, restarts it (``opsbook stack down`` then
``up``) and runs the day a third time, with papermill. Prints the matrix (day × scenario → pass,
seconds) and writes it to ``evidencia/rerun.md``; exits 1 when any cell failed. The stack is
left stopped, as ``make run`` leaves it.

Usage: ``python scripts/rerun.py [--dias 2 3] [--pequeno]``.
"""

from __future__ import annotations

import argparse
import sys

from opsbook.course import rerun
from opsbook.settings import settings
from opsbook.stack import lifecycle as stack


def restart() -> None:
    """``stack down`` then ``stack up`` at once (a restart within seconds must be safe)."""
    print("  ↻ opsbook stack down + up", flush=True)
    stack.down()
    stack.up(progress=False)


def main(argv: list[str] | None = None) -> int:
    """Run the matrix and print it; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dias", nargs="+", type=int, default=[1, 2, 3, 4, 5],
                        help="días a ejecutar (por defecto, los cinco)")
    parser.add_argument("--pequeno", action="store_true",
                        help="parámetros reducidos (días 2, 3 y 5) para una comprobación corta")
    args = parser.parse_args(argv)
    stack.up(progress=False)

    def report(cell: rerun.Cell) -> None:
        verdict = "correcto" if cell.passed else f"FALLÓ en In [{cell.failed_cell}]: {cell.error}"
        print(f"  día {cell.day} · {cell.scenario}: {verdict} ({cell.seconds:.0f} s)", flush=True)

    try:
        cells = rerun.run_matrix(args.dias, restart,
                                 rerun.SMALL_PARAMETERS if args.pequeno else None, report=report)
    finally:
        stack.down()
    text = rerun.table(cells)
    print(text)
    out = settings.evidence_dir / "rerun.md"
    out.write_text(f"# Matriz de re-ejecución\n\n{text}\n", encoding="utf-8")
    print(f"Matriz escrita en {out}")
    return 0 if all(c.passed for c in cells) else 1


if __name__ == "__main__":
    sys.exit(main())
