"""Customer dimension (``clientes``): landing files of any schema version → v3 warehouse table.

Why this module exists: ``pipeline_ventas`` loads the customer dimension next to the sales.
Customer files arrive in the landing folder written by systems of different ages (schema v1,
v2 or v3); this module validates each file against its own version, upgrades every record to
the current version and loads them into the warehouse. A file whose schema is unknown or
incompatible, or whose records do not validate, is quarantined whole with a reason — never
silently dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsbook.settings import settings

CUSTOMER_DIR = "clientes"
"""Sub-folder of ``settings.landing_dir`` holding one folder of customer files per date."""


def landing_folder(logical_date: str) -> Path:
    """Return ``<landing_dir>/clientes/<logical_date>/`` (not created)."""
    return settings.landing_dir / CUSTOMER_DIR / logical_date


def load_customers(logical_date: str) -> dict[str, Any]:
    """Load every customer landing file of one logical date into the ``clientes`` table.

    Args:
        logical_date: ``YYYY-MM-DD`` folder name under ``landing_dir/clientes``.

    Returns:
        Counts: ``files``, ``files_loaded``, ``files_quarantined``, ``records_loaded``,
        plus ``quarantine`` (file → reason).
    """
    folder = landing_folder(logical_date)
    files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    result: dict[str, Any] = {
        "logical_date": logical_date,
        "files": len(files),
        "files_loaded": 0,
        "files_quarantined": 0,
        "records_loaded": 0,
        "quarantine": {},
    }
    if files:
        raise NotImplementedError("carga de ficheros de clientes: en construcción")
    return result
