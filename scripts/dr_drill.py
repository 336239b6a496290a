#!/usr/bin/env python
"""Measure the disaster-recovery time of docs/recuperacion_ante_desastres.md on the live stack.

Why this script exists: the doc's restore figure must come from a repeatable run. It runs
:func:`opsbook.stack.disaster_recovery.drill` on the stack the environment points to (start it
first with ``opsbook stack up``; use ``OPSBOOK_PORT_OFFSET`` for an isolated stack): smoke run →
hot backup → stop → delete metadata DB, warehouse and secrets → restore → start → verify
(history, warehouse row for row, a new smoke run). Each step is timed and the report is saved
as ``evidencia/dia_5/simulacro_recuperacion.json``.

Usage:
    python scripts/dr_drill.py [--timeout 900]
"""

from __future__ import annotations

import argparse
import json
import os

from opsbook import evidence
from opsbook.stack.disaster_recovery import drill


def main() -> None:
    """Run the drill, print each step and the restore time, save the evidence."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="plazo del arranque y de cada ejecución (s)")
    args = parser.parse_args()
    report = drill(timeout_s=args.timeout)
    data = {**report.to_dict(), "load_avg_1m": round(os.getloadavg()[0], 1),
            "cpus": os.cpu_count(), "port_offset": os.environ.get("OPSBOOK_PORT_OFFSET", "0")}
    path = evidence.save_json(5, "simulacro_recuperacion", data,
                              "Simulacro de recuperación ante desastres (tiempos medidos)")
    print(json.dumps({k: data[k] for k in ("restore_s", "load_avg_1m", "cpus")}))
    print(f"restauración (parada → verificado): {report.restore_s} s · evidencia: {path}")


if __name__ == "__main__":
    main()
