"""The sales warehouse: SQLite by default, PostgreSQL when ``OPSBOOK_WAREHOUSE_URL`` says so.

Why this module exists: the load step, the customer dimension, the notebooks and the day-3
drills all write or read the same warehouse. This module is the one door to it:

* :meth:`Warehouse.transaction` — one DB-API connection, committed on success, rolled back on
  any exception (the pipeline loads one logical date per transaction).
* :meth:`Warehouse.write_frame` — bulk insert of a DataFrame: ``COPY ... FROM STDIN`` through
  psycopg 3 on PostgreSQL, ``executemany`` on SQLite.
* :meth:`Warehouse.replace_date` — idempotent load of one date (checkpoint, delete, insert),
  with an optional gate called inside the transaction once the current row count is known.
* :meth:`Warehouse.restore_checkpoint` — put back the rows a date had before one of its last
  :data:`KEEP_GENERATIONS` loads (each load keeps one checkpoint *generation*).
* :meth:`Warehouse.log_load` / ``load_log`` — one audit row per load decision (loaded,
  refused by the gate, forced).
* :meth:`Warehouse.set_reachable` — block/unblock connections for an outage drill.

SQL uses ``?`` placeholders; :meth:`Warehouse.sql` rewrites them for PostgreSQL (``%s``).
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from opsbook.pipeline.datagen import COLUMNS
from opsbook.settings import settings

SALES = "sales"
QUARANTINE = "sales_quarantine"
CHECKPOINT = "sales_checkpoints"
"""Rows of every kept checkpoint generation (sales columns + ``generation``)."""
CHECKPOINTS = "checkpoint_generations"
"""One row per kept generation: date, generation number, time taken, rows saved."""
LOAD_LOG = "load_log"
KEEP_GENERATIONS = 3
"""Checkpoint generations kept per date (older ones are dropped by the next load)."""
SALES_COLUMNS: tuple[str, ...] = (*COLUMNS, "logical_date")
QUARANTINE_COLUMNS: tuple[str, ...] = ("logical_date", "row_number", "reason", "detail", "raw")

_SALES_TYPES = {
    "sqlite": "order_id TEXT NOT NULL, ts TEXT, customer_id TEXT, product_id TEXT, category TEXT,"
              " quantity INTEGER, unit_price REAL, currency TEXT, store_id TEXT, region TEXT,"
              " channel TEXT, logical_date TEXT NOT NULL",
    "postgresql": "order_id TEXT NOT NULL, ts TIMESTAMP, customer_id TEXT, product_id TEXT,"
                  " category TEXT, quantity INTEGER, unit_price NUMERIC(12,2), currency TEXT,"
                  " store_id TEXT, region TEXT, channel TEXT, logical_date DATE NOT NULL",
}
_QUARANTINE_TYPES = ("logical_date {d} NOT NULL, row_number BIGINT NOT NULL, reason TEXT NOT NULL,"
                     " detail TEXT, raw TEXT, PRIMARY KEY (logical_date, row_number)")


class WarehouseError(RuntimeError):
    """A warehouse operation failed (Spanish message saying what to check)."""


@dataclass(frozen=True)
class Replaced:
    """Outcome of :meth:`Warehouse.replace_date`: rows written, rows before, generation taken."""

    rows_loaded: int
    rows_before: int
    generation: int


@dataclass(frozen=True)
class Warehouse:
    """Handle on one warehouse (cheap to create; connections are opened per transaction).

    Attributes:
        url: ``sqlite:///<path>`` or ``postgresql://...``.
    """

    url: str

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "postgresql" if self.url.startswith(("postgresql://", "postgres://")) else "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """File of a SQLite warehouse."""
        return Path(self.url.removeprefix("sqlite:///"))

    def sql(self, text: str) -> str:
        """Rewrite ``?`` placeholders for the dialect (``%s`` on PostgreSQL)."""
        return text.replace("?", "%s") if self.dialect == "postgresql" else text

    def connect(self) -> Any:
        """Open a DB-API connection (caller closes it); prefer :meth:`transaction`.

        Raises:
            WarehouseError: the warehouse is unreachable (message names the URL).
        """
        try:
            if self.dialect == "postgresql":
                import psycopg

                return psycopg.connect(self.url, connect_timeout=5)
            if self.sqlite_path.with_suffix(".blocked").exists():
                raise sqlite3.OperationalError("almacén bloqueado por un simulacro")
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            return sqlite3.connect(self.sqlite_path, timeout=30)
        except Exception as exc:
            raise WarehouseError(f"almacén inaccesible ({self.url}): {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Yield a connection inside one transaction: commit on success, rollback on error."""
        conn = self.connect()
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def ensure_schema(self, conn: Any) -> None:
        """Create the sales, quarantine and checkpoint tables when missing."""
        date_type = "DATE" if self.dialect == "postgresql" else "TEXT"
        sales = f"{_SALES_TYPES[self.dialect]}, PRIMARY KEY (logical_date, order_id)"
        checkpoint = (f"{_SALES_TYPES[self.dialect]}, generation INTEGER NOT NULL,"
                      " PRIMARY KEY (logical_date, generation, order_id)")
        for stmt in (
            f"CREATE TABLE IF NOT EXISTS {SALES} ({sales})",
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINT} ({checkpoint})",
            f"CREATE TABLE IF NOT EXISTS {QUARANTINE} ({_QUARANTINE_TYPES.format(d=date_type)})",
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (logical_date {date_type} NOT NULL,"
            " generation INTEGER NOT NULL, taken_at TEXT NOT NULL, rows_saved BIGINT NOT NULL,"
            " PRIMARY KEY (logical_date, generation))",
            f"CREATE TABLE IF NOT EXISTS {LOAD_LOG} (logical_date {date_type} NOT NULL,"
            " at TEXT NOT NULL, rows_before BIGINT NOT NULL, rows_new BIGINT NOT NULL,"
            " decision TEXT NOT NULL, detail TEXT)",
        ):
            conn.execute(stmt)

    def write_frame(self, conn: Any, table: str, frame: pd.DataFrame) -> int:
        """Bulk-insert ``frame`` (columns = table columns) and return the rows written.

        PostgreSQL: one ``COPY <table> (...) FROM STDIN (FORMAT csv)`` fed by pandas' CSV
        writer. SQLite: ``executemany`` of one INSERT.
        """
        if frame.empty:
            return 0
        cols = ", ".join(frame.columns)
        if self.dialect == "postgresql":
            buf = io.StringIO()
            frame.to_csv(buf, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S")
            with conn.cursor() as cur, cur.copy(
                f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)"
            ) as copy:
                copy.write(buf.getvalue())
        else:
            marks = ", ".join("?" * len(frame.columns))
            data = frame.astype(object).where(frame.notna(), None)
            conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                             data.itertuples(index=False, name=None))
        return len(frame)

    def replace_date(self, ds: str, sales: Iterable[pd.DataFrame],
                     quarantine: Iterable[pd.DataFrame] = (), fail_after_first_chunk: bool = False,
                     gate: Callable[[int], None] | None = None,
                     note: Callable[[], str] | None = None) -> Replaced:
        """Load one logical date in ONE transaction: checkpoint, delete, insert (idempotent).

        Args:
            ds: logical date ``YYYY-MM-DD``.
            sales: chunks of valid rows (columns :data:`SALES_COLUMNS` minus ``logical_date``).
            quarantine: chunks of quarantined rows (``row_number, reason, detail, raw``).
            fail_after_first_chunk: inject a failure mid-load (drills): the transaction rolls
                back and the warehouse keeps its previous rows.
            gate: called with the date's current row count before anything changes; an
                exception it raises rolls the transaction back (the load gate).
            note: returns the text recorded in ``load_log`` for this load.

        Returns:
            Rows written, rows the date had, and the checkpoint generation taken.
        """
        loaded = 0
        with self.transaction() as conn:
            self.ensure_schema(conn)
            before = int(self._scalar(conn, f"SELECT COUNT(*) FROM {SALES} WHERE logical_date = ?",
                                      ds))
            if gate is not None:
                gate(before)
            generation = self._checkpoint(conn, ds, before)
            for table in (SALES, QUARANTINE):
                conn.execute(self.sql(f"DELETE FROM {table} WHERE logical_date = ?"), (ds,))
            for chunk in sales:
                loaded += self.write_frame(conn, SALES, chunk.assign(logical_date=ds))
                if fail_after_first_chunk:
                    raise WarehouseError(
                        f"fallo inyectado en la carga de {ds} (fail_at=load) tras {loaded} filas;"
                        f" la transacción se revierte y se conservan las {before} filas previas")
            for chunk in quarantine:
                self.write_frame(conn, QUARANTINE,
                                 chunk.assign(logical_date=ds).loc[:, list(QUARANTINE_COLUMNS)])
            self._log(conn, ds, before, loaded, "cargada", note() if note else "")
        return Replaced(loaded, before, generation)

    def _checkpoint(self, conn: Any, ds: str, rows: int) -> int:
        """Save the date's rows as a new generation; drop generations beyond the kept ones."""
        cols = ", ".join(SALES_COLUMNS)
        last = self._scalar(conn, f"SELECT MAX(generation) FROM {CHECKPOINTS}"
                                  " WHERE logical_date = ?", ds)
        generation = int(last or 0) + 1
        conn.execute(self.sql(f"INSERT INTO {CHECKPOINT} ({cols}, generation) SELECT {cols}, ?"
                              f" FROM {SALES} WHERE logical_date = ?"), (generation, ds))
        conn.execute(self.sql(f"INSERT INTO {CHECKPOINTS} (logical_date, generation, taken_at,"
                              " rows_saved) VALUES (?, ?, ?, ?)"),
                     (ds, generation, datetime.now(UTC).isoformat(timespec="seconds"), rows))
        for table in (CHECKPOINT, CHECKPOINTS):
            conn.execute(self.sql(f"DELETE FROM {table} WHERE logical_date = ?"
                                  " AND generation <= ?"), (ds, generation - KEEP_GENERATIONS))
        return generation

    def generations(self, ds: str) -> list[dict[str, Any]]:
        """Kept checkpoint generations of ``ds``, newest first (``atras`` 1 = the newest)."""
        frame = self.read(f"SELECT generation, taken_at, rows_saved FROM {CHECKPOINTS}"
                          " WHERE logical_date = ? ORDER BY generation DESC", (ds,))
        return [{"atras": i + 1, "generation": int(r.generation), "tomado": r.taken_at,
                 "filas": int(r.rows_saved)} for i, r in enumerate(frame.itertuples())]

    def restore_checkpoint(self, ds: str, back: int = 1) -> int:
        """Put back the sales rows ``ds`` had before one of its last loads (one transaction).

        Args:
            ds: logical date.
            back: 1 = before the last load, 2 = before the one before it, ... up to
                :data:`KEEP_GENERATIONS`.

        Returns:
            Rows restored.

        Raises:
            WarehouseError: no such checkpoint generation for ``ds``.
        """
        cols = ", ".join(SALES_COLUMNS)
        with self.transaction() as conn:
            self.ensure_schema(conn)
            kept = [r[0] for r in conn.execute(
                self.sql(f"SELECT generation FROM {CHECKPOINTS} WHERE logical_date = ?"
                         " ORDER BY generation DESC"), (ds,)).fetchall()]
            if not kept:
                raise WarehouseError(f"no hay punto de control para {ds}: carga esa fecha antes")
            if not 1 <= back <= len(kept):
                raise WarehouseError(f"{ds} solo guarda {len(kept)} generaciones de punto de"
                                     f" control (pediste la {back})")
            before = self._scalar(conn, f"SELECT COUNT(*) FROM {SALES} WHERE logical_date = ?",
                                  ds)
            conn.execute(self.sql(f"DELETE FROM {SALES} WHERE logical_date = ?"), (ds,))
            conn.execute(self.sql(f"INSERT INTO {SALES} ({cols}) SELECT {cols} FROM {CHECKPOINT}"
                                  " WHERE logical_date = ? AND generation = ?"),
                         (ds, kept[back - 1]))
            restored = self._scalar(conn, f"SELECT COUNT(*) FROM {SALES} WHERE logical_date = ?",
                                    ds)
            self._log(conn, ds, before, restored, "restaurada", f"generación {kept[back - 1]}")
            return restored

    def log_load(self, ds: str, rows_before: int, rows_new: int, decision: str,
                 detail: str = "") -> None:
        """Record one load decision (e.g. a load refused by the gate) in ``load_log``."""
        with self.transaction() as conn:
            self.ensure_schema(conn)
            self._log(conn, ds, rows_before, rows_new, decision, detail)

    def _log(self, conn: Any, ds: str, before: int, new: int, decision: str,
             detail: str) -> None:
        conn.execute(self.sql(f"INSERT INTO {LOAD_LOG} (logical_date, at, rows_before, rows_new,"
                              " decision, detail) VALUES (?, ?, ?, ?, ?, ?)"),
                     (ds, datetime.now(UTC).isoformat(timespec="microseconds"), before, new,
                      decision, detail))

    def _scalar(self, conn: Any, query: str, *params: Any) -> Any:
        return conn.execute(self.sql(query), params).fetchone()[0]

    def count(self, table: str = SALES, ds: str | None = None) -> int:
        """Rows of ``table`` (for one logical date when ``ds`` is given; 0 if it is missing)."""
        where, params = (" WHERE logical_date = ?", (ds,)) if ds else ("", ())
        with self.transaction() as conn:
            self.ensure_schema(conn)
            return int(self._scalar(conn, f"SELECT COUNT(*) FROM {table}{where}", *params))

    def read(self, query: str, params: tuple = ()) -> pd.DataFrame:
        """Run a SELECT (``?`` placeholders) and return a DataFrame."""
        with self.transaction() as conn:
            self.ensure_schema(conn)
            cur = conn.execute(self.sql(query), params)
            names = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

    def set_reachable(self, reachable: bool) -> None:
        """Block or unblock new connections, for an outage drill.

        PostgreSQL: ``ALTER DATABASE ... ALLOW_CONNECTIONS`` (and open sessions are ended), a
        real refusal by the server. SQLite: a ``.blocked`` marker next to the file that
        :meth:`connect` honours (a simulation: a file cannot refuse connections).
        """
        if self.dialect == "sqlite":
            marker = self.sqlite_path.with_suffix(".blocked")
            if reachable:
                marker.unlink(missing_ok=True)
            else:
                marker.touch()
            return
        import psycopg
        from psycopg import sql
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(self.url)
        admin = {**info, "dbname": "postgres"}
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                sql.Identifier(info["dbname"]), sql.SQL("true" if reachable else "false")))
            if not reachable:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                             " WHERE datname = %s AND pid <> pg_backend_pid()", (info["dbname"],))


def open_warehouse(url: str | None = None) -> Warehouse:
    """Return the warehouse of ``url``, else ``OPSBOOK_WAREHOUSE_URL``, else the SQLite file."""
    return Warehouse(url or settings.warehouse_url or f"sqlite:///{settings.warehouse_path}")


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when it does not exist (no-op for SQLite)."""
    if not url.startswith(("postgresql://", "postgres://")):
        return
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    with psycopg.connect(**{**info, "dbname": "postgres"}, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (info["dbname"],)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(info["dbname"])))


def restore_checkpoint(ds: str, url: str | None = None, back: int = 1) -> int:
    """Restore the sales rows of ``ds`` from a checkpoint generation (day-3 recovery).

    Args:
        ds: logical date ``YYYY-MM-DD``.
        url: warehouse URL (default: :func:`open_warehouse`).
        back: which generation (1 = the rows before the last load).

    Returns:
        Rows restored.
    """
    return open_warehouse(url).restore_checkpoint(ds, back)
