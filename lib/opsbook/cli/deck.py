"""``opsbook deck [--render]``: build the executive deck from the week's summaries.

Why this module exists: the syllabus asks for a script that generates the executive
presentation; this command (and the thin ``generar_presentacion_ejecutiva.py`` of day 5) calls
:func:`opsbook.course.deck.build_deck` and optionally renders it with LibreOffice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    """Add the ``deck`` command to the ``opsbook`` parser.

    Args:
        subparsers: the object returned by ``add_subparsers`` of the top-level parser.
    """
    parser = subparsers.add_parser(
        "deck", help="genera la presentación ejecutiva desde evidencia/dia_N/resumen.json"
    )
    parser.add_argument("--out", type=Path, default=None,
                        help="ruta del .pptx (por defecto en evidencia/dia_5/)")
    parser.add_argument("--render", action="store_true",
                        help="además, PDF y PNG por diapositiva con LibreOffice")
    parser.add_argument("--actualizar-docs", action="store_true",
                        help="reescribe los valores medidos de docs/metricas_de_exito.md")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build (and optionally render) the deck; print one line per slide.

    Args:
        args: parsed ``--out`` / ``--render`` / ``--actualizar-docs``.

    Returns:
        0 on success, 1 when rendering was asked and failed.
    """
    from opsbook.course import deck_render
    from opsbook.course.deck import build_deck

    report = build_deck(args.out)
    print(f"Presentación: {report.path} ({len(report.slides)} diapositivas, "
          f"{report.seconds:.1f} s)")
    for i, slide in enumerate(report.slides, 1):
        print(f"  {i:2d}. {slide.title}")
    if report.missing_days:
        days = ", ".join(map(str, report.missing_days))
        which = f"del día {days}" if len(report.missing_days) == 1 else f"de los días {days}"
        print(f"AVISO: sin resumen {which} (sus diapositivas lo dicen)")
    if args.actualizar_docs:
        from opsbook.course.day5 import update_success_metrics

        print(f"Actualizado: {update_success_metrics(report.facts)}")
    if args.render:
        try:
            out = deck_render.render(report.path, report.path.parent / "diapositivas")
        except (deck_render.RenderUnavailable, RuntimeError) as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 1
        print(f"PDF: {out.pdf} · {len(out.pages)} páginas PNG")
    return 0
