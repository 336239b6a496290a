"""``opsbook curso publicar|calificar|portafolio``: the course loop for instructors.

Why this module exists: publishing the student release, grading the cohort and writing each
student's portfolio are the commands an instructor runs; the work lives in
:mod:`opsbook.course.release`, :mod:`opsbook.course.cohort` and
:mod:`opsbook.course.portfolio` (imported inside the handlers to keep ``--help`` fast). This
module only parses arguments, shows progress and turns bad arguments into clear errors.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    """Add the ``curso`` command to the ``opsbook`` parser.

    Args:
        subparsers: the object returned by ``add_subparsers`` of the top-level parser.
    """
    parser = subparsers.add_parser(
        "curso", help="publica la versión del alumno y califica entregas")
    sub = parser.add_subparsers(dest="action", metavar="ACCION")
    sub.required = True
    p_pub = sub.add_parser("publicar", help="copia del proyecto sin soluciones (o con ellas)")
    p_pub.add_argument("--con-soluciones", action="store_true",
                       help="escribe la copia de referencia del instructor")
    p_pub.add_argument("--salida", type=Path, default=None,
                       help="carpeta de salida (por defecto dist/alumno o dist/referencia)")
    p_pub.set_defaults(func=_publish)
    p_cal = sub.add_parser("calificar", help="califica entregas contra la pila en marcha")
    p_cal.add_argument("--dia", type=int, required=True, help="día del curso (1..5)")
    p_cal.add_argument("--timeout-celda", type=float, default=900.0,
                       help="segundos máximos por celda (por defecto 900)")
    p_cal.add_argument("--salida", type=Path, default=Path("evidencia") / "calificaciones",
                       help="carpeta de calificaciones (por defecto evidencia/calificaciones)")
    p_cal.add_argument("entregas", nargs="+", type=Path, metavar="ENTREGA",
                       help="carpeta de cada alumno (su nombre es el identificador)")
    p_cal.set_defaults(func=_grade)
    p_port = sub.add_parser("portafolio",
                            help="portafolio de un alumno a partir de su entrega calificada")
    p_port.add_argument("--alumno", required=True, help="identificador del alumno")
    p_port.add_argument("--calificaciones", type=Path,
                        default=Path("evidencia") / "calificaciones",
                        help="carpeta de calificaciones (por defecto evidencia/calificaciones)")
    p_port.add_argument("--salida", type=Path, default=Path("evidencia") / "portafolio",
                        help="carpeta de portafolios (por defecto evidencia/portafolio)")
    p_port.set_defaults(func=_portfolio)


def _publish(args: argparse.Namespace) -> int:
    from opsbook.course import release

    dest = args.salida or (Path("dist") / ("referencia" if args.con_soluciones else "alumno"))
    try:
        result = release.publish(dest, with_solutions=args.con_soluciones)
    except (ValueError, RuntimeError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    kind = "de referencia (con soluciones)" if result.with_solutions else "del alumno"
    print(f"Copia {kind} en {result.dest} · {len(result.notebooks)} cuadernos")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from rich.console import Console

    from opsbook.course import cohort
    from opsbook.course.submission import SubmissionError

    console = Console(stderr=True)
    started = time.monotonic()
    current = {"student": None, "t0": started}

    def progress(student: str, k: int, n: int, what: str) -> None:
        if student != current["student"]:
            current.update(student=student, t0=time.monotonic())
        console.print(f"[bold]alumno {k}/{n}[/] {student} · {what} · "
                      f"{time.monotonic() - current['t0']:.0f} s", highlight=False)

    try:
        result = cohort.grade_cohort(args.dia, args.entregas, args.salida, args.timeout_celda,
                                     progress)
    except (ValueError, SubmissionError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    for g in result.grades:
        got, top = g.automatic
        flags = f" · avisos: {', '.join(g.flags)}" if g.flags else ""
        print(f"{g.student}: {got:g}/{top:g} ({g.seconds:.0f} s){flags}")
    print(f"Calificaciones: {result.out / 'calificaciones.csv'} · índice: {result.index} · "
          f"{time.monotonic() - started:.0f} s")
    return 0


def _portfolio(args: argparse.Namespace) -> int:
    from opsbook.course import portfolio
    from opsbook.course.submission import SubmissionError

    try:
        result = portfolio.write(portfolio.build(args.alumno, args.calificaciones), args.salida)
    except (portfolio.PortfolioError, SubmissionError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    graded = [d.day for d in result.days if d.graded]
    print(f"Portafolio de {result.student}: {result.html} · días calificados: "
          f"{', '.join(map(str, graded))} de {len(result.days)}")
    print(f"PDF: {result.pdf}" if result.pdf else f"Sin PDF: {result.pdf_note}")
    return 0
