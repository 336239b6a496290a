#!/usr/bin/env python
"""Generate the executive deck from the week's evidence (the syllabus's script, kept thin).

Usage (from anywhere, with the project's venv):
    python notebooks/dia_5_documentacion/generar_presentacion_ejecutiva.py [--render] [--out X.pptx]

Same as ``opsbook deck``: reads ``evidencia/dia_N/resumen.json`` and writes
``evidencia/dia_5/presentacion_ejecutiva.pptx``; the logic lives in ``opsbook.course.deck``.
"""

import sys

from opsbook.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["deck", *sys.argv[1:]]))
