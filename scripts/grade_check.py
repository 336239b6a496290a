"""``make grade-check``: grade the instructor's reference and the untouched release of every day.

The course promise of each graded day: the reference copy scores 100 % of the automatic points
and the untouched student release at most 20 %. This publishes both copies (``opsbook curso
publicar``), grades them day by day on the live stack (started if needed, stopped at the end
when this script started it), prints one line per graded cell as it goes and a table (day →
exercises, reference %, untouched %, seconds of each) written to
``evidencia/calificacion_de_control.md``. Exits 1 when a day breaks its promise.

Usage: ``python scripts/grade_check.py [--dias 1 2 3 4 5] [--timeout-celda 900]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from opsbook.course import authoring, cohort, preflight, release
from opsbook.settings import settings
from opsbook.stack import lifecycle as stack

UNTOUCHED_MAX = 0.20


def _pct(grade) -> float:
    got, top = grade.automatic
    return 100.0 * got / top if top else 0.0


def main(argv: list[str] | None = None) -> int:
    """Grade both copies for each day, print the table; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dias", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--timeout-celda", type=float, default=900.0)
    args = parser.parse_args(argv)
    days = [d for d in args.dias
            if any(not c.manual for c in authoring.criteria(
                authoring.read_source(authoring.source_path(d))))]
    started_here = not preflight.check_stack(settings).ok
    if started_here:
        stack.up(progress=False)
    rows, ok = [], True
    try:
        with tempfile.TemporaryDirectory(prefix="control_") as tmp:
            subs = Path(tmp)
            release.publish(subs / "referencia", with_solutions=True)
            release.publish(subs / "intacta", with_solutions=False)
            for day in days:
                print(f"== día {day}", flush=True)
                result = cohort.grade_cohort(
                    day, [subs / "referencia", subs / "intacta"], subs / "calificaciones",
                    cell_timeout_s=args.timeout_celda,
                    progress=lambda s, k, n, what: print(f"   {s}: {what}", flush=True))
                by = {g.student: g for g in result.grades}
                ref, raw = by["referencia"], by["intacta"]
                n_ex = len({r.exercise for r in ref.results if not r.manual})
                passed = _pct(ref) == 100.0 and _pct(raw) <= 100 * UNTOUCHED_MAX
                ok &= passed
                rows.append(f"| {day} | {n_ex} | {_pct(ref):.0f} % | {ref.seconds:.0f} s | "
                            f"{_pct(raw):.0f} % | {raw.seconds:.0f} s | "
                            f"{'correcto' if passed else 'FALLA'} |")
                if _pct(ref) < 100:
                    print("   la referencia falló:", [(r.criterion, r.message[:200])
                                                      for r in ref.results
                                                      if not r.passed and not r.manual])
    finally:
        if started_here:
            stack.down()
    table = "\n".join(["| día | ejercicios | referencia | s | intacta | s | promesa |",
                       "|---|---|---|---|---|---|---|", *rows])
    print(table)
    out = settings.evidence_dir / "calificacion_de_control.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Calificación de control: referencia (100 %) e intacta (≤ 20 %)\n\n"
                   f"{table}\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
