"""Customer dimension (``clientes``): landing files of any schema version → v3 warehouse table.

Why this module exists: ``pipeline_ventas`` loads the customer dimension next to the sales.
Customer files arrive in ``<landing_dir>/clientes/<logical_date>/`` written by systems of
different ages (schema v1, v2 or v3; how a file names its version is documented in
:mod:`opsbook.pipeline.customer_files`). Each file is validated against its own version, every
record is upgraded to the current version, and the whole date is loaded in ONE transaction (upsert
by ``id`` that keeps the newer record by ``updated_at``: re-running a date gives the same table,
and an older file never overwrites a newer record). A file whose schema is unknown or incompatible,
or with any invalid record, is quarantined whole: a row in ``clientes_cuarentena`` with the
reason, and a copy under ``var/cuarentena/clientes/<date>/`` next to a ``.motivo.txt`` — never
silently dropped. The original landing file stays where it was.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook.settings import settings

CUSTOMER_DIR = "clientes"
"""Sub-folder of ``settings.landing_dir`` holding one folder of customer files per date."""
MAX_REASONS = 5
"""Validation errors quoted in a quarantine reason (the count is always complete)."""

COLUMNS = ("id", "name", "created_at", "email", "updated_at", "phone")
NEWER = ("COALESCE(excluded.updated_at, excluded.created_at) >= "
         "COALESCE(clientes.updated_at, clientes.created_at)")
"""Upsert guard: a record replaces the stored one only when it is at least as recent (by
``updated_at``, else ``created_at``; ISO-8601 text compares in time order), so an old file
re-sent after a newer one never overwrites the newer record."""
DDL = (
    "CREATE TABLE IF NOT EXISTS clientes (id BIGINT PRIMARY KEY, name TEXT NOT NULL, "
    "created_at TEXT NOT NULL, email TEXT, updated_at TEXT, phone TEXT, "
    "version_origen INTEGER NOT NULL, archivo_origen TEXT NOT NULL, fecha_logica TEXT NOT NULL, "
    "cargado_en TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS clientes_cuarentena (fecha_logica TEXT NOT NULL, "
    "archivo TEXT NOT NULL, motivo TEXT NOT NULL, registrado_en TEXT NOT NULL, "
    "PRIMARY KEY (fecha_logica, archivo))",
)


def landing_folder(logical_date: str) -> Path:
    """Return ``<landing_dir>/clientes/<logical_date>/`` (not created)."""
    return settings.landing_dir / CUSTOMER_DIR / logical_date


def quarantine_folder(logical_date: str) -> Path:
    """Return ``<var>/cuarentena/clientes/<logical_date>/`` (not created)."""
    return settings.var / "cuarentena" / CUSTOMER_DIR / logical_date


def warehouse() -> Any:
    """The :class:`~opsbook.pipeline.warehouse.Warehouse` this module writes to."""
    from opsbook.pipeline.warehouse import open_warehouse

    return open_warehouse(settings.warehouse_url or f"sqlite:///{settings.warehouse_path}")


def query(sql: str, params: tuple = ()) -> list[tuple]:
    """Run a read query against the warehouse (``?`` placeholders on both engines).

    Args:
        sql: the SELECT statement.
        params: its parameters.
    """
    wh = warehouse()
    with wh.transaction() as conn:
        _ensure_tables(conn)
        cur = conn.cursor()
        cur.execute(wh.sql(sql), params)
        return cur.fetchall()


def _ensure_tables(conn: Any) -> None:
    cur = conn.cursor()
    for stmt in DDL:
        cur.execute(stmt)
    cur.execute("SELECT * FROM clientes WHERE 1 = 0")  # tables created before cargado_en
    if "cargado_en" not in [d[0] for d in cur.description]:
        cur.execute("ALTER TABLE clientes ADD COLUMN cargado_en TEXT NOT NULL DEFAULT ''")


def _quarantine_copy(path: Path, logical_date: str, reason: str) -> None:
    folder = quarantine_folder(logical_date)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, folder / path.name)
    (folder / f"{path.name}.motivo.txt").write_text(reason + "\n", encoding="utf-8")


def prepare(logical_date: str) -> tuple[list[tuple], dict[str, str], Counter, int]:
    """Read, validate and upgrade every landing file of a date (no database access).

    Returns:
        (rows to load in :data:`COLUMNS` order + version, file, date, load time; quarantine
        file → reason; records per source version; number of files).
    """
    from opsbook.pipeline.customer_files import CustomerFileError, read_customer_file
    from opsbook.pipeline.schema_registry import registry

    reg = registry()
    folder = landing_folder(logical_date)
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    rows: list[tuple] = []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    quarantine: dict[str, str] = {}
    per_version: Counter = Counter()
    for path in files:
        try:
            data = read_customer_file(path, reg)
        except CustomerFileError as exc:
            quarantine[path.name] = str(exc)
            continue
        errors = reg.validate(data.records, data.version)
        if errors:
            quoted = "; ".join(str(e) for e in errors[:MAX_REASONS])
            more = f" (y {len(errors) - MAX_REASONS} más)" if len(errors) > MAX_REASONS else ""
            quarantine[path.name] = (f"{len(errors)} errores de validación contra "
                                     f"v{data.version}: {quoted}{more}")
            continue
        upgrade = reg.upgrader(data.version, reg.latest)
        for record in data.records:
            new = upgrade(record)
            rows.append((*(new[c] for c in COLUMNS), data.version, path.name, logical_date, now))
        per_version[f"v{data.version}"] += len(data.records)
    return rows, quarantine, per_version, len(files)


def load_customers(logical_date: str) -> dict[str, Any]:
    """Load every customer landing file of one logical date into the ``clientes`` table.

    Args:
        logical_date: ``YYYY-MM-DD`` folder name under ``landing_dir/clientes``.

    Returns:
        ``files``, ``files_loaded``, ``files_quarantined``, ``records_loaded``,
        ``records_by_version`` (source version → records) and ``quarantine`` (file → reason).
        No files → every count is zero and the warehouse is not touched.
    """
    rows, quarantine, per_version, n_files = prepare(logical_date)
    result: dict[str, Any] = {
        "logical_date": logical_date,
        "files": n_files,
        "files_loaded": n_files - len(quarantine),
        "files_quarantined": len(quarantine),
        "records_loaded": len(rows),
        "records_by_version": dict(sorted(per_version.items())),
        "quarantine": quarantine,
    }
    if not n_files:
        return result
    now = datetime.now(UTC).isoformat(timespec="seconds")
    cols = (*COLUMNS, "version_origen", "archivo_origen", "fecha_logica", "cargado_en")
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols[1:])
    wh = warehouse()
    upsert = wh.sql(f"INSERT INTO clientes ({', '.join(cols)}) VALUES "
                    f"({', '.join('?' * len(cols))}) ON CONFLICT (id) DO UPDATE SET {updates}"
                    f" WHERE {NEWER}")
    with wh.transaction() as conn:  # one transaction per date: all or nothing
        _ensure_tables(conn)
        cur = conn.cursor()
        cur.execute(wh.sql("DELETE FROM clientes_cuarentena WHERE fecha_logica = ?"),
                    (logical_date,))
        if quarantine:
            cur.executemany(wh.sql("INSERT INTO clientes_cuarentena VALUES (?, ?, ?, ?)"),
                            [(logical_date, name, why, now) for name, why in quarantine.items()])
        if rows:
            cur.executemany(upsert, rows)
    for name, reason in quarantine.items():
        _quarantine_copy(landing_folder(logical_date) / name, logical_date, reason)
    return result


def loaded_rows(logical_date: str) -> Any:
    """The ``clientes`` rows last loaded by one logical date, as a pandas frame (by id)."""
    import pandas as pd

    cols = (*COLUMNS, "version_origen", "archivo_origen", "cargado_en")
    rows = query(f"SELECT {', '.join(cols)} FROM clientes WHERE fecha_logica = ? ORDER BY id",
                 (logical_date,))
    return pd.DataFrame(rows, columns=list(cols))


def quarantined_files(logical_date: str) -> Any:
    """The quarantine entries of one logical date, as a pandas frame (by file name)."""
    import pandas as pd

    rows = query("SELECT archivo, motivo, registrado_en FROM clientes_cuarentena "
                 "WHERE fecha_logica = ? ORDER BY archivo", (logical_date,))
    return pd.DataFrame(rows, columns=["archivo", "motivo", "registrado_en"])
