"""opsbook: helpers of the 'Semana 4' workbook (operating data pipelines professionally).

The notebooks, the DAGs and the tests import from here; see docs/convenciones.md and
docs/arquitectura.md for the rooms and their layers.
"""

__version__ = "0.1.0"
