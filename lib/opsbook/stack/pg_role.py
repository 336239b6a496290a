"""The Celery mode's PostgreSQL: a dedicated least-privilege role that owns only its database.

Why this module exists: Airflow's metadata database in Celery mode used to be reached as the
``postgres`` superuser, so any bug or injected SQL in a task could read or drop every
database of the machine. The stack now provisions, idempotently at every Celery-mode start:

* a role ``<database>_airflow`` — ``LOGIN``, no superuser, no ``CREATEDB``/``CREATEROLE``/
  replication, a connection limit — whose password is the generated
  ``var/secrets/postgres_password`` (re-applied each time, so the file is the truth);
* the database, owned by that role, with ``CONNECT`` revoked from ``PUBLIC``; objects an older
  run created as the superuser in ``public`` are handed to the role.

Only this provisioning uses the administrative DSN (``OPSBOOK_PG_DSN``, the machine's
``postgres`` user); every Airflow process and the Celery result backend connect as the role
(:func:`app_dsn`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from opsbook.settings import Settings, ensure_secrets, settings

CONNECTION_LIMIT = 100
"""Most concurrent connections of the role (schedulers, api-servers, workers, result backend)."""
_RELKINDS = ("r", "p", "S", "v", "m")
"""Tables, partitioned tables, sequences, views, materialized views."""


def pg_database(cfg: Settings = settings) -> str:
    """Name of the PostgreSQL database of ``cfg.pg_dsn`` (``opsbook`` by default).

    Raises:
        ValueError: when the DSN names no database.
    """
    name = urlsplit(cfg.pg_dsn).path.lstrip("/")
    if not name:
        raise ValueError(
            f"OPSBOOK_PG_DSN={cfg.pg_dsn!r} no nombra una base de datos: añade /<nombre> al final"
        )
    return name


def app_role(cfg: Settings = settings) -> str:
    """The role Airflow uses in Celery mode: ``<database>_airflow``."""
    return f"{pg_database(cfg)}_airflow"


def app_dsn(cfg: Settings = settings) -> str:
    """DSN of the metadata database as the dedicated role, with its generated password."""
    parts = urlsplit(cfg.pg_dsn)
    password = ensure_secrets(cfg)["postgres_password"]
    netloc = f"{app_role(cfg)}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class Provisioned:
    """What :func:`provision` did.

    Attributes:
        role: the role name.
        database: the database name.
        created_role: the role did not exist before.
        created_database: the database did not exist before.
        handed_over: objects of ``public`` whose owner became the role.
    """

    role: str
    database: str
    created_role: bool
    created_database: bool
    handed_over: int


def provision(cfg: Settings = settings) -> Provisioned:
    """Create or update the role and its database (idempotent).

    Raises:
        RuntimeError: when PostgreSQL does not answer on the administrative DSN.
    """
    import psycopg
    from psycopg import sql

    name, role = pg_database(cfg), app_role(cfg)
    password = ensure_secrets(cfg)["postgres_password"]
    admin = urlunsplit(urlsplit(cfg.pg_dsn)._replace(path="/postgres"))
    attrs = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                    "CONNECTION LIMIT {} PASSWORD {}").format(sql.Literal(CONNECTION_LIMIT),
                                                              sql.Literal(password))
    ident, db = sql.Identifier(role), sql.Identifier(name)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            new_role = not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                        (role,)).fetchone()
            verb = "CREATE ROLE {} " if new_role else "ALTER ROLE {} "
            conn.execute(sql.SQL(verb).format(ident) + attrs)
            new_db = not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                      (name,)).fetchone()
            if new_db:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, ident))
            else:
                conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db, ident))
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
            conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db,
                                                                                       ident))
        target = urlunsplit(urlsplit(cfg.pg_dsn)._replace(path=f"/{name}"))
        with psycopg.connect(target, autocommit=True, connect_timeout=5) as conn:
            handed = _hand_over_public(conn, role)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL no responde en {admin}: arráncalo (p. ej. `service postgresql start`) "
            f"o define OPSBOOK_PG_DSN. Detalle: {exc}"
        ) from exc
    return Provisioned(role, name, new_role, new_db, handed)


def _hand_over_public(conn, role: str) -> int:
    """Give the role the ``public`` schema and every object in it an older run left behind."""
    from psycopg import sql

    ident = sql.Identifier(role)
    conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(ident))
    rows = conn.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = ANY(%s)"
        " AND pg_get_userbyid(c.relowner) <> %s",
        (list(_RELKINDS), role),
    ).fetchall()
    kinds = {"S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
    for relname, relkind in rows:
        if relkind == "S" and _owned_by_column(conn, relname):
            continue  # moves with its table
        stmt = sql.SQL("ALTER {} public.{} OWNER TO {}").format(
            sql.SQL(kinds.get(relkind, "TABLE")), sql.Identifier(relname), ident)
        conn.execute(stmt)
    types = conn.execute(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname = 'public' AND t.typtype = 'e' AND pg_get_userbyid(t.typowner) <> %s",
        (role,),
    ).fetchall()
    for (typname,) in types:
        conn.execute(sql.SQL("ALTER TYPE public.{} OWNER TO {}").format(sql.Identifier(typname),
                                                                       ident))
    return len(rows) + len(types)


def _owned_by_column(conn, sequence: str) -> bool:
    return bool(conn.execute(
        "SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.objid"
        " WHERE s.relname = %s AND s.relkind = 'S' AND d.deptype IN ('a', 'i')",
        (sequence,),
    ).fetchone())
