#!/usr/bin/env python
"""The syllabus's ``runbook.py``, kept thin: the logic lives in ``opsbook.incidents.runbook``.

Usage (with the project's venv):
    python notebooks/dia_3_incidentes/runbook.py catalog | incidents | show ID | postmortem ID
    python notebooks/dia_3_incidentes/runbook.py automation on|off|status
    python notebooks/dia_3_incidentes/runbook.py handle alerta.json   # Alertmanager payload
    python notebooks/dia_3_incidentes/runbook.py drill pipeline_down  # a real drill

Same as ``opsbook runbook ...`` / ``opsbook drill ...``.
"""

import sys

from opsbook.cli.main import main

if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args if args[:1] == ["drill"] else ["runbook", *args]))
