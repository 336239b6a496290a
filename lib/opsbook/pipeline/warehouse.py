"""The sales warehouse: SQLite by default, PostgreSQL when ``OPSBOOK_WAREHOUSE_URL`` says so.

Why this module exists: the load step, the customer dimension, the notebooks and the day-3
drills all write or read the same warehouse. This module is the one door to it:

* :meth:`Warehouse.transaction` — one DB-API connection, committed on success, rolled back on
  any exception (the pipeline loads one logical date per transaction).
* :meth:`Warehouse.write_frame` — bulk insert of a DataFrame: ``COPY ... FROM STDIN`` through
  psycopg 3 on PostgreSQL, ``executemany`` on SQLite.
* :meth:`Warehouse.replace_date` — idempotent load of one date (checkpoint, delete, insert).
* :meth:`Warehouse.restore_checkpoint` — put back the rows a date had before its last load.
* :meth:`Warehouse.set_reachable` — block/unblock connections for an outage drill.

SQL uses ``?`` placeholders; :meth:`Warehouse.sql` rewrites them for PostgreSQL (``%s``).
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable, Iterator
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
CHECKPOINT = "sales_checkpoint"
CHECKPOINTS = "checkpoints"
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
        for stmt in (
            f"CREATE TABLE IF NOT EXISTS {SALES} ({sales})",
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINT} ({sales})",
            f"CREATE TABLE IF NOT EXISTS {QUARANTINE} ({_QUARANTINE_TYPES.format(d=date_type)})",
            f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (logical_date {date_type} PRIMARY KEY,"
            " taken_at TEXT NOT NULL, rows_saved BIGINT NOT NULL)",
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
                     quarantine: Iterable[pd.DataFrame] = (), fail_after_first_chunk: bool = False
                     ) -> int:
        """Load one logical date in ONE transaction: checkpoint, delete, insert (idempotent).

        Args:
            ds: logical date ``YYYY-MM-DD``.
            sales: chunks of valid rows (columns :data:`SALES_COLUMNS` minus ``logical_date``).
            quarantine: chunks of quarantined rows (``row_number, reason, detail, raw``).
            fail_after_first_chunk: inject a failure mid-load (drills): the transaction rolls
                back and the warehouse keeps its previous rows.

        Returns:
            Sales rows written.
        """
        loaded = 0
        with self.transaction() as conn:
            self.ensure_schema(conn)
            saved = self._checkpoint(conn, ds)
            for table in (SALES, QUARANTINE):
                conn.execute(self.sql(f"DELETE FROM {table} WHERE logical_date = ?"), (ds,))
            for chunk in sales:
                loaded += self.write_frame(conn, SALES, chunk.assign(logical_date=ds))
                if fail_after_first_chunk:
                    raise WarehouseError(
                        f"fallo inyectado en la carga de {ds} (fail_at=load) tras {loaded} filas;"
                        f" la transacción se revierte y se conservan las {saved} filas previas")
            for chunk in quarantine:
                self.write_frame(conn, QUARANTINE,
                                 chunk.assign(logical_date=ds).loc[:, list(QUARANTINE_COLUMNS)])
        return loaded

    def _checkpoint(self, conn: Any, ds: str) -> int:
        cols = ", ".join(SALES_COLUMNS)
        conn.execute(self.sql(f"DELETE FROM {CHECKPOINT} WHERE logical_date = ?"), (ds,))
        conn.execute(self.sql(f"INSERT INTO {CHECKPOINT} ({cols}) SELECT {cols} FROM {SALES}"
                              " WHERE logical_date = ?"), (ds,))
        saved = self._scalar(conn, f"SELECT COUNT(*) FROM {CHECKPOINT} WHERE logical_date = ?", ds)
        conn.execute(self.sql(f"DELETE FROM {CHECKPOINTS} WHERE logical_date = ?"), (ds,))
        conn.execute(self.sql(f"INSERT INTO {CHECKPOINTS} (logical_date, taken_at, rows_saved)"
                              " VALUES (?, ?, ?)"),
                     (ds, datetime.now(UTC).isoformat(timespec="seconds"), saved))
        return saved

    def restore_checkpoint(self, ds: str) -> int:
        """Put back the sales rows ``ds`` had before its last load (one transaction).

        Returns:
            Rows restored.

        Raises:
            WarehouseError: no checkpoint exists for ``ds``.
        """
        cols = ", ".join(SALES_COLUMNS)
        with self.transaction() as conn:
            self.ensure_schema(conn)
            if not self._scalar(conn, f"SELECT COUNT(*) FROM {CHECKPOINTS} WHERE logical_date = ?",
                                ds):
                raise WarehouseError(f"no hay punto de control para {ds}: carga esa fecha antes")
            conn.execute(self.sql(f"DELETE FROM {SALES} WHERE logical_date = ?"), (ds,))
            conn.execute(self.sql(f"INSERT INTO {SALES} ({cols}) SELECT {cols} FROM {CHECKPOINT}"
                                  " WHERE logical_date = ?"), (ds,))
            return self._scalar(conn, f"SELECT COUNT(*) FROM {SALES} WHERE logical_date = ?", ds)

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


def restore_checkpoint(ds: str, url: str | None = None) -> int:
    """Restore the sales rows of ``ds`` from its checkpoint (day-3 recovery).

    Args:
        ds: logical date ``YYYY-MM-DD``.
        url: warehouse URL (default: :func:`open_warehouse`).

    Returns:
        Rows restored.
    """
    return open_warehouse(url).restore_checkpoint(ds)
