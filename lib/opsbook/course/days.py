"""The days of the course and their notebook folders, named once.

Why this module exists: the runner, the authoring format, the release, the recap, the deck and
the portfolio all need the day → notebook map; it lives in a leaf module so none of them has
to import another just for it (which is how an import cycle through the runner appeared).
"""

from __future__ import annotations

COURSE_NOTEBOOKS = {1: "dia_1_testing", 2: "dia_2_monitoreo", 3: "dia_3_incidentes",
                    4: "dia_4_escalado", 5: "dia_5_documentacion"}
"""Day → notebook folder/stem (docs/convenciones.md → Estructura)."""
