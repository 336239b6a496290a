"""Whether the Airflow metadata schema is current, so ``up`` can skip ``airflow db migrate``.

Why this module exists: ``airflow db migrate`` costs ~7 s of CPU on every ``stack up`` (it
imports all of Airflow to find out there is nothing to do), and a restart of a stopped stack is
the common case (``make test``, a student's next day). The check here is cheap: read the alembic
revision stored in the SQLite metadata DB and compare it with the head of the migration scripts
shipped by the installed Airflow (their ``revision``/``down_revision`` lines, parsed as text:
nothing of Airflow is imported). The same holds for the PostgreSQL metadata DB of Celery mode
(read with psycopg), which day 4 switches to and back from. Anything unusual (no DB, no
``alembic_version`` table, several heads, another database engine, an unreachable server)
answers "not current", so ``up`` migrates as before.
"""

from __future__ import annotations

import importlib.util
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_REVISION = re.compile(r"^revision\s*=\s*['\"](\w+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)
_IDS = re.compile(r"['\"](\w+)['\"]")


@dataclass(frozen=True)
class SchemaCheck:
    """Outcome of comparing the metadata DB with the installed Airflow.

    Attributes:
        current: True when the DB is at the head revision (``db migrate`` would do nothing).
        db_revision: revision stored in ``alembic_version`` (None: no DB or no table).
        head_revision: head of the installed migration scripts (None: could not tell).
        reason: one Spanish line saying why (shown in ``mode.json``).
    """

    current: bool
    db_revision: str | None
    head_revision: str | None
    reason: str


def migrations_dir() -> Path | None:
    """Folder of the installed Airflow's alembic migration scripts (None if not found)."""
    try:
        spec = importlib.util.find_spec("airflow")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "migrations" / "versions"
    return folder if folder.is_dir() else None


def head_revision(folder: Path | None = None) -> str | None:
    """The single head of the migration graph in ``folder`` (None: none or several).

    Args:
        folder: migration scripts (default: the installed Airflow's).
    """
    folder = folder or migrations_dir()
    if folder is None:
        return None
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in folder.glob("*.py"):
        text = script.read_text(errors="replace")
        found = _REVISION.search(text)
        if not found:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(text)
        if down:
            parents.update(_IDS.findall(down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def sqlite_revision(db: Path) -> str | None:
    """The revision in ``alembic_version`` of a SQLite DB (None: no file, no table, no row)."""
    if not db.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return None
    return rows[0][0] if len(rows) == 1 else None


def postgres_revision(sql_alchemy_conn: str) -> str | None:
    """The revision in ``alembic_version`` of a PostgreSQL DB (None: unreachable, no table, no row).

    Args:
        sql_alchemy_conn: a SQLAlchemy URL such as ``postgresql+psycopg2://user:pw@host/db``.
    """
    import psycopg

    parts = urlsplit(sql_alchemy_conn)
    conninfo = urlunsplit(("postgresql", *parts[1:]))
    try:
        with psycopg.connect(conninfo, connect_timeout=5) as conn:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except psycopg.Error:
        return None
    return rows[0][0] if len(rows) == 1 else None


def check(sql_alchemy_conn: str, folder: Path | None = None) -> SchemaCheck:
    """Whether the DB behind ``sql_alchemy_conn`` is at the installed Airflow's head.

    Args:
        sql_alchemy_conn: the ``[database] sql_alchemy_conn`` of the stack.
        folder: migration scripts (default: the installed Airflow's).
    """
    prefix = "sqlite:///"
    if sql_alchemy_conn.startswith(prefix):
        db_rev = sqlite_revision(Path(sql_alchemy_conn[len(prefix):]))
    elif urlsplit(sql_alchemy_conn).scheme.split("+")[0] in ("postgresql", "postgres"):
        db_rev = postgres_revision(sql_alchemy_conn)
    else:
        return SchemaCheck(False, None, None, "ni SQLite ni PostgreSQL: se migra siempre")
    head = head_revision(folder)
    if db_rev is None:
        return SchemaCheck(False, None, head, "base de datos nueva o sin versión: se migra")
    if head is None:
        return SchemaCheck(False, db_rev, None, "no se pudo leer la cabeza de las migraciones")
    if db_rev != head:
        return SchemaCheck(False, db_rev, head, f"esquema {db_rev} ≠ cabeza {head}: se migra")
    return SchemaCheck(True, db_rev, head, f"esquema al día ({head}): sin migrar")
