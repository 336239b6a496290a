"""The three steps of ``pipeline_ventas`` (extract, transform, load), without Airflow.

Why this module exists: the DAG only orchestrates; the work lives here so it can be unit-tested
and benchmarked without a scheduler. Each step returns a small dict of *paths and counts* (what
the DAG passes through XCom), never the data itself.

* extract: copies the landing file of the date into ``var/staging/<ds>/raw.csv`` and counts its
  records; a missing or unreadable file raises :class:`ExtractError` naming the path.
* transform: reads the raw file in chunks (bounded memory), validates every row with pandera
  (:mod:`opsbook.pipeline.validation`), writes valid rows and quarantined rows (with a reason each)
  to a
  staging SQLite file, then resolves duplicated order ids across chunks inside that file.
* load: streams the staging file into the warehouse in one transaction per date
  (:meth:`opsbook.pipeline.warehouse.Warehouse.replace_date`).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from opsbook.pipeline import validation
from opsbook.pipeline.datagen import COLUMNS, landing_path
from opsbook.pipeline.warehouse import Warehouse, open_warehouse
from opsbook.settings import settings

CHUNK_ROWS = 100_000
"""Rows per chunk read by transform and load (memory is bounded by this, not the file)."""


class ExtractError(RuntimeError):
    """The landing file is missing or unreadable (the message names the path)."""


class InjectedFailure(RuntimeError):
    """A failure requested with ``fail_at`` for a drill."""


def staging_dir(ds: str) -> Path:
    """Return (and create) ``var/staging/<ds>/``."""
    path = settings.var / "staging" / ds
    path.mkdir(parents=True, exist_ok=True)
    return path


def extract(ds: str, landing: Path | None = None, fail: bool = False) -> dict:
    """Copy the landing file of ``ds`` to staging and count its records.

    Args:
        ds: logical date ``YYYY-MM-DD``.
        landing: landing file (default ``var/landing/ventas_<ds>.csv``).
        fail: inject a failure (``fail_at=extract``).

    Returns:
        ``raw_path``, ``records``, ``seconds``.

    Raises:
        ExtractError: missing/unreadable file, or an injected failure.
    """
    started = time.perf_counter()
    source = landing or landing_path(ds)
    if fail:
        raise ExtractError(f"fallo inyectado (fail_at=extract) leyendo {source}")
    if not source.is_file():
        raise ExtractError(f"no existe el fichero de aterrizaje {source}: deja ahí el CSV del día "
                           "o ejecuta la tarea generate_landing")
    try:
        header = pd.read_csv(source, nrows=0).columns.tolist()
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ExtractError(f"no se puede leer {source} como CSV: {exc}") from exc
    if not header:
        raise ExtractError(f"el fichero {source} no tiene cabecera CSV")
    raw = staging_dir(ds) / "raw.csv"
    shutil.copyfile(source, raw.with_suffix(".tmp"))
    raw.with_suffix(".tmp").replace(raw)
    with raw.open("rb") as fh:
        lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
    return {"raw_path": str(raw), "records": max(lines - 1, 0),
            "seconds": time.perf_counter() - started}


_STAGE_DDL = (
    "CREATE TABLE stage (row_number INTEGER PRIMARY KEY, order_id TEXT, ts TEXT,"
    " customer_id TEXT, product_id TEXT, category TEXT, quantity INTEGER, unit_price REAL,"
    " currency TEXT, store_id TEXT, region TEXT, channel TEXT)",
    "CREATE TABLE quarantine (row_number INTEGER PRIMARY KEY, reason TEXT NOT NULL,"
    " detail TEXT, raw TEXT)",
)
_DEDUP_SQL = (
    "CREATE INDEX stage_order ON stage (order_id, row_number)",
    "INSERT INTO quarantine (row_number, reason, detail, raw)"
    " SELECT s.row_number, 'duplicate_order_id', 'order_id=' || s.order_id,"
    " json_object(" + ", ".join(f"'{c}', s.{c}" for c in COLUMNS) + ")"
    " FROM stage s JOIN (SELECT order_id, MIN(row_number) AS first FROM stage"
    " GROUP BY order_id HAVING COUNT(*) > 1) d"
    " ON s.order_id = d.order_id AND s.row_number > d.first",
    "DELETE FROM stage WHERE row_number IN"
    " (SELECT row_number FROM quarantine WHERE reason = 'duplicate_order_id')",
)


def _open_stage(path: Path) -> sqlite3.Connection:
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    for stmt in _STAGE_DDL:
        conn.execute(stmt)
    return conn


def _raw_json(rows: pd.DataFrame) -> list[str]:
    clean = rows.astype(object).where(rows.notna(), None)
    return [json.dumps(r, ensure_ascii=False) for r in clean.to_dict("records")]


def _insert(conn: sqlite3.Connection, table: str, frame: pd.DataFrame) -> None:
    marks = ", ".join("?" * (len(frame.columns) + 1))
    data = frame.astype(object).where(frame.notna(), None)
    conn.executemany(f"INSERT INTO {table} VALUES ({marks})",
                     data.itertuples(index=True, name=None))


def transform(raw_path: str | Path, ds: str, chunk_rows: int = CHUNK_ROWS,
              fail: bool = False) -> dict:
    """Validate, quarantine and deduplicate the raw file into a staging SQLite file.

    Args:
        raw_path: file written by :func:`extract`.
        ds: logical date (names the staging folder).
        chunk_rows: rows per chunk.
        fail: inject a failure after the first chunk (``fail_at=transform``).

    Returns:
        ``staging_db``, ``records_in``, ``valid``, ``quarantined``, ``by_reason``
        (reason → rows), ``quality`` (valid / records_in), ``drift`` and ``seconds``.
    """
    started = time.perf_counter()
    raw_path = Path(raw_path)
    header = pd.read_csv(raw_path, nrows=0).columns.tolist()
    drift = validation.schema_drift(header)
    db_path = staging_dir(ds) / "transform.sqlite"
    conn = _open_stage(db_path)
    records = 0
    reader = pd.read_csv(raw_path, dtype=str, keep_default_na=False, na_values=[""],
                         chunksize=chunk_rows)
    for chunk in reader:
        chunk.index = pd.RangeIndex(records + 2, records + 2 + len(chunk), name="row_number")
        records += len(chunk)
        if drift["missing"]:
            bad = pd.DataFrame({"reason": "missing_column",
                                "detail": "faltan columnas: " + ", ".join(drift["missing"])},
                               index=chunk.index)
        else:
            bad = validation.validate_chunk(chunk)
        bad = bad.assign(raw=_raw_json(chunk.loc[bad.index]))
        _insert(conn, "quarantine", bad[["reason", "detail", "raw"]])
        if not drift["missing"]:
            _insert(conn, "stage", validation.to_typed(chunk.drop(index=bad.index)))
        if fail:
            conn.close()
            raise InjectedFailure(f"fallo inyectado (fail_at=transform) tras {records} filas")
    for stmt in _DEDUP_SQL:
        conn.execute(stmt)
    conn.commit()
    valid = conn.execute("SELECT COUNT(*) FROM stage").fetchone()[0]
    by_reason = dict(conn.execute("SELECT reason, COUNT(*) FROM quarantine GROUP BY reason"))
    conn.close()
    quarantined = sum(by_reason.values())
    return {
        "staging_db": str(db_path), "records_in": records, "valid": valid,
        "quarantined": quarantined, "by_reason": by_reason,
        "quality": valid / records if records else 0.0, "drift": drift,
        "seconds": time.perf_counter() - started,
    }


def staged_chunks(staging_db: str | Path, table: str = "stage",
                  chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield the rows of a staging table in chunks (``row_number`` order).

    Args:
        staging_db: file written by :func:`transform`.
        table: ``stage`` (valid rows) or ``quarantine``.
        chunk_rows: rows per chunk.
    """
    conn = sqlite3.connect(staging_db)
    try:
        cols = "row_number, reason, detail, raw" if table == "quarantine" else ", ".join(COLUMNS)
        yield from pd.read_sql_query(f"SELECT {cols} FROM {table} ORDER BY row_number", conn,
                                     chunksize=chunk_rows)
    finally:
        conn.close()


def load(staging_db: str | Path, ds: str, warehouse: Warehouse | None = None,
         chunk_rows: int = CHUNK_ROWS, fail: bool = False) -> dict:
    """Replace the rows of ``ds`` in the warehouse with the staged ones (one transaction).

    Args:
        staging_db: file written by :func:`transform`.
        ds: logical date.
        warehouse: target (default :func:`opsbook.pipeline.warehouse.open_warehouse`).
        chunk_rows: rows per COPY/INSERT batch.
        fail: inject a failure mid-load (``fail_at=load``): the transaction rolls back.

    Returns:
        ``rows_loaded``, ``seconds``, ``throughput`` (rows/s) and ``warehouse`` (dialect).
    """
    wh = warehouse or open_warehouse()
    started = time.perf_counter()
    rows = wh.replace_date(ds, staged_chunks(staging_db, "stage", chunk_rows),
                           staged_chunks(staging_db, "quarantine", chunk_rows),
                           fail_after_first_chunk=fail)
    seconds = time.perf_counter() - started
    return {"rows_loaded": rows, "seconds": seconds,
            "throughput": rows / seconds if seconds > 0 else 0.0, "warehouse": wh.dialect}
