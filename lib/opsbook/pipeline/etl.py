"""The three steps of ``pipeline_ventas`` (extract, transform, load), without Airflow.

Why this module exists: the DAG only orchestrates; the work lives here so it can be unit-tested
and benchmarked without a scheduler. Each step returns a small dict of *paths and counts* (what
the DAG passes through XCom), never the data itself.

* extract: copies the landing file of the date into ``var/staging/<ds>/raw.csv`` and counts its
  records; a missing or unreadable file raises :class:`ExtractError` naming the path.
* transform: reads the raw file in chunks (bounded memory), validates every row with pandera
  (:mod:`opsbook.pipeline.validation`), writes valid rows and quarantined rows (with a reason each)
  to a staging SQLite file, then resolves duplicated order ids across chunks inside that file.
  A row that cannot be parsed or converted never fails the date: non-UTF-8 bytes are read as
  U+FFFD and quarantined as ``bad_encoding``, numbers the warehouse cannot hold as
  ``out_of_range``, a row with more fields than the header as ``malformed_row`` (the fast C
  reader is retried with the tolerant Python reader only when the file has such a row).
* load: streams the staging file into the warehouse in one transaction per date
  (:meth:`opsbook.pipeline.warehouse.Warehouse.replace_date`) behind a *load gate*: a file with
  no valid rows, or with fewer than :data:`MIN_RATIO` of the rows the date already holds, is
  refused (:class:`LoadRefused`) and the date keeps its rows, unless ``forzar=True`` (logged).

Results are dataclasses; the DAG passes ``result.to_dict()`` through XCom.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from opsbook.pipeline import validation
from opsbook.pipeline.datagen import COLUMNS, landing_path
from opsbook.pipeline.warehouse import Warehouse, open_warehouse
from opsbook.settings import settings

CHUNK_ROWS = 100_000
"""Rows per chunk read by transform and load (memory is bounded by this, not the file)."""
MIN_RATIO = 0.5
"""Load gate: a new file must bring at least this share of the rows the date already holds."""

log = logging.getLogger(__name__)


class ExtractError(RuntimeError):
    """The landing file is missing or unreadable (the message names the path)."""


class InjectedFailure(RuntimeError):
    """A failure requested with ``fail_at`` for a drill."""


class LoadRefused(RuntimeError):
    """The load gate kept the date's rows (message says why and how to force it).

    Attributes:
        rows_before: rows the date holds (and keeps).
        rows_new: valid rows the refused file would have loaded.
    """

    def __init__(self, message: str, rows_before: int, rows_new: int) -> None:
        super().__init__(message)
        self.rows_before = rows_before
        self.rows_new = rows_new


class _Result:
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (what the DAG puts in XCom)."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class ExtractResult(_Result):
    """What :func:`extract` did: staged copy, data rows counted, seconds."""

    raw_path: str
    records: int
    seconds: float


@dataclass(frozen=True)
class TransformResult(_Result):
    """What :func:`transform` did.

    Attributes:
        staging_db: staging SQLite file (tables ``stage`` and ``quarantine``).
        records_in: data rows read.
        valid: rows that passed validation and deduplication.
        quarantined: rows rejected (each with one reason).
        by_reason: reason → rows.
        quality: ``valid / records_in``; None for a file without data rows.
        drift: ``{"extra": [...], "missing": [...]}`` columns against the expected header.
        seconds: wall time.
        tolerant_reader: the file had rows with extra fields (read with the Python reader).
    """

    staging_db: str
    records_in: int
    valid: int
    quarantined: int
    by_reason: dict[str, int]
    quality: float | None
    drift: dict[str, list[str]]
    seconds: float
    tolerant_reader: bool = False


@dataclass(frozen=True)
class LoadResult(_Result):
    """What :func:`load` did.

    Attributes:
        rows_loaded: sales rows written for the date.
        rows_before: rows the date held before (now in a checkpoint generation).
        quarantined: quarantined rows recorded for the date.
        seconds: wall time; throughput: rows per second.
        warehouse: ``sqlite`` or ``postgresql``.
        forced: the load gate was overridden with ``forzar``.
        generation: checkpoint generation holding the rows the date had before.
        gate: the gate's verdict (empty when the load was plainly allowed).
    """

    rows_loaded: int
    rows_before: int
    quarantined: int
    seconds: float
    throughput: float
    warehouse: str
    forced: bool = False
    generation: int = 0
    gate: str = field(default="")


def read_header(path: Path) -> list[str]:
    """Column names of a CSV file (non-UTF-8 bytes read as U+FFFD).

    Raises:
        ExtractError: the file is not readable as CSV or has no header.
    """
    try:
        header = pd.read_csv(path, nrows=0, encoding_errors="replace").columns.tolist()
    except (OSError, ValueError) as exc:
        raise ExtractError(f"no se puede leer {path} como CSV: {exc}") from exc
    if not header:
        raise ExtractError(f"el fichero {path} no tiene cabecera CSV")
    return [str(c) for c in header]


def staging_dir(ds: str) -> Path:
    """Return (and create) ``var/staging/<ds>/``."""
    path = settings.var / "staging" / ds
    path.mkdir(parents=True, exist_ok=True)
    return path


def extract(ds: str, landing: Path | None = None, fail: bool = False) -> ExtractResult:
    """Copy the landing file of ``ds`` to staging and count its records.

    Args:
        ds: logical date ``YYYY-MM-DD``.
        landing: landing file (default ``var/landing/ventas_<ds>.csv``).
        fail: inject a failure (``fail_at=extract``).

    Returns:
        The staged path, the data rows counted and the seconds it took.

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
    read_header(source)
    raw = staging_dir(ds) / "raw.csv"
    shutil.copyfile(source, raw.with_suffix(".tmp"))
    raw.with_suffix(".tmp").replace(raw)
    with raw.open("rb") as fh:
        lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
    with raw.open("rb") as fh:  # a last line without "\n" is a record too
        fh.seek(max(raw.stat().st_size - 1, 0))
        lines += int(raw.stat().st_size > 0 and fh.read(1) != b"\n")
    return ExtractResult(str(raw), max(lines - 1, 0), time.perf_counter() - started)


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


def _chunks(raw_path: Path, header: list[str], chunk_rows: int,
            tolerant: bool) -> Iterator[pd.DataFrame]:
    """Read the raw file in chunks of strings; ``tolerant`` keeps rows with extra fields."""
    options: dict[str, Any] = {}
    if tolerant:
        width = len(header)
        options = {"engine": "python", "on_bad_lines": lambda fields: [
            *fields[:width - 1], f"{validation.MALFORMED}{len(fields)}"]}
    return pd.read_csv(raw_path, dtype=str, keep_default_na=False, na_values=[""],
                       chunksize=chunk_rows, index_col=False, encoding="utf-8",
                       encoding_errors="replace", **options)


def transform(raw_path: str | Path, ds: str, chunk_rows: int = CHUNK_ROWS,
              fail: bool = False) -> TransformResult:
    """Validate, quarantine and deduplicate the raw file into a staging SQLite file.

    Every row ends in exactly one of the two staging tables: no row can fail the date.

    Args:
        raw_path: file written by :func:`extract`.
        ds: logical date (names the staging folder).
        chunk_rows: rows per chunk.
        fail: inject a failure after the first chunk (``fail_at=transform``).

    Returns:
        Counts, reasons, quality and schema drift of the file.
    """
    try:
        return _transform(Path(raw_path), ds, chunk_rows, fail, tolerant=False)
    except pd.errors.ParserError:  # a row with extra fields: read again, keeping it
        return _transform(Path(raw_path), ds, chunk_rows, fail, tolerant=True)


def _transform(raw_path: Path, ds: str, chunk_rows: int, fail: bool,
               tolerant: bool) -> TransformResult:
    started = time.perf_counter()
    header = read_header(raw_path)
    drift = validation.schema_drift(header)
    db_path = staging_dir(ds) / "transform.sqlite"
    conn = _open_stage(db_path)
    records = 0
    try:
        for chunk in _chunks(raw_path, header, chunk_rows, tolerant):
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
                raise InjectedFailure(f"fallo inyectado (fail_at=transform) tras {records} filas")
        for stmt in _DEDUP_SQL:
            conn.execute(stmt)
        conn.commit()
        valid = conn.execute("SELECT COUNT(*) FROM stage").fetchone()[0]
        by_reason = dict(conn.execute("SELECT reason, COUNT(*) FROM quarantine GROUP BY reason"))
    finally:
        conn.close()
    return TransformResult(
        staging_db=str(db_path), records_in=records, valid=valid,
        quarantined=sum(by_reason.values()), by_reason=by_reason,
        quality=valid / records if records else None, drift=drift,
        seconds=time.perf_counter() - started, tolerant_reader=tolerant)


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


def gate_reason(rows_before: int, rows_new: int, min_ratio: float = MIN_RATIO) -> str | None:
    """Why the load gate refuses to replace ``rows_before`` rows by ``rows_new`` (None: allowed).

    Args:
        rows_before: rows the date holds in the warehouse.
        rows_new: valid rows of the new file.
        min_ratio: smallest accepted ``rows_new / rows_before``.
    """
    if rows_before == 0 or rows_new >= min_ratio * rows_before:
        return None
    if rows_new == 0:
        return (f"el fichero no trae filas válidas y la fecha ya tiene {rows_before}: "
                "se conservan")
    return (f"el fichero trae {rows_new} filas válidas, menos del {min_ratio:.0%} de las "
            f"{rows_before} que ya tiene la fecha: se conservan")


def load(staging_db: str | Path, ds: str, warehouse: Warehouse | None = None,
         chunk_rows: int = CHUNK_ROWS, fail: bool = False, forzar: bool = False,
         gate: bool = True) -> LoadResult:
    """Replace the rows of ``ds`` in the warehouse with the staged ones (one transaction).

    The load gate (:func:`gate_reason`) runs inside that transaction: a refused load changes
    nothing and raises :class:`LoadRefused`.

    Args:
        staging_db: file written by :func:`transform`.
        ds: logical date.
        warehouse: target (default :func:`opsbook.pipeline.warehouse.open_warehouse`).
        chunk_rows: rows per COPY/INSERT batch.
        fail: inject a failure mid-load (``fail_at=load``): the transaction rolls back.
        forzar: load even when the gate would refuse (logged as a warning and in ``load_log``).
        gate: apply the load gate (the DAG skips it for a file generated from the run's own
            params: its size is what the operator asked for).

    Raises:
        LoadRefused: the gate kept the date's rows.
    """
    wh = warehouse or open_warehouse()
    started = time.perf_counter()
    conn = sqlite3.connect(staging_db)
    try:
        rows_new = conn.execute("SELECT COUNT(*) FROM stage").fetchone()[0]
        rejected = conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
    finally:
        conn.close()
    verdict: dict[str, str] = {}

    def check(rows_before: int) -> None:
        why = gate_reason(rows_before, rows_new) if gate else None
        if why and not forzar:
            verdict["gate"] = why
            raise LoadRefused(f"carga de {ds} rechazada: {why} (usa --forzar para cargarlo"
                              " de todos modos)", rows_before, rows_new)
        if why:
            verdict["gate"] = f"forzada: {why}"
            log.warning("carga FORZADA de %s: %s", ds, why)

    try:
        done = wh.replace_date(ds, staged_chunks(staging_db, "stage", chunk_rows),
                               staged_chunks(staging_db, "quarantine", chunk_rows),
                               fail_after_first_chunk=fail, gate=check,
                               note=lambda: verdict.get("gate", ""))
    except LoadRefused as exc:
        wh.log_load(ds, exc.rows_before, rows_new, "rechazada", verdict["gate"])
        raise
    seconds = time.perf_counter() - started
    rows = done.rows_loaded
    return LoadResult(rows_loaded=rows, rows_before=done.rows_before, quarantined=rejected,
                      seconds=seconds, throughput=rows / seconds if seconds > 0 else 0.0,
                      warehouse=wh.dialect, forced=bool(verdict) and forzar,
                      generation=done.generation, gate=verdict.get("gate", ""))
