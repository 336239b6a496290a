"""Profile the last `make run`: seconds per day, slowest sections and cells → docs/rendimiento.md.

Reads the notebooks papermill executed (``evidencia/html/dia_*.ipynb``, every cell stamped with
its wall time) and the per-day wall time of ``evidencia/html/estado.json``, prints a Markdown
table and replaces the block ``<!-- perfil:LABEL -->`` … ``<!-- /perfil:LABEL -->`` of
``docs/rendimiento.md`` (appends it when missing). Run it right after ``make run``; the machine
load at that moment is written with the table (other stacks slow every cell).

Usage: ``.venv/bin/python scripts/profile_run.py --label make-run-despues [--no-doc]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from opsbook.course import runner
from opsbook.course.run_profile import emit, markdown, profile_folder
from opsbook.settings import settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "rendimiento.md"


def main(argv: list[str] | None = None) -> int:
    """Print (and unless ``--no-doc`` write) the per-day table; 1 when nothing was executed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="make-run", help="name of the block in the doc")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args(argv)
    folder = settings.evidence_dir / "html"
    profiles = profile_folder(folder)
    if not profiles:
        print(f"no hay cuadernos ejecutados en {folder}: ejecuta antes `make run`",
              file=sys.stderr)
        return 1
    status = runner.load_status()
    wall = {row.name: row.seconds for row in status.values() if row.seconds is not None}
    failed = [row.name for row in status.values() if row.status == "failed"]
    one, five, _ = os.getloadavg()
    block = "\n".join([
        f"### Perfil «{args.label}» — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, carga al "
        f"leerlo (1/5 min) {one:.1f} / {five:.1f}"
        + (f"; fallaron: {', '.join(failed)}" if failed else ""),
        "",
        markdown(profiles, wall),
    ])
    emit(DOC, args.label, block, write=not args.no_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
