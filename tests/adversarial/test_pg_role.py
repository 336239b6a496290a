"""Celery mode's PostgreSQL role: least privilege, idempotent, owns only its database.

Runs against the machine's PostgreSQL (skipped when it does not answer) with a throw-away
database and role, dropped afterwards.
"""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from opsbook.settings import settings
from opsbook.stack import pg_role

pytestmark = pytest.mark.unit
psycopg = pytest.importorskip("psycopg")
ADMIN = f"postgresql://postgres@127.0.0.1:{settings.ports.postgres}/postgres"


@pytest.fixture
def cfg(tmp_path):
    try:
        psycopg.connect(ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL no responde en 127.0.0.1")
    name = f"ob_test_role_{secrets.token_hex(4)}"
    cfg = dataclasses.replace(settings, var=tmp_path / "var",
                              pg_dsn=f"postgresql://postgres@127.0.0.1:{settings.ports.postgres}"
                                     f"/{name}")
    yield cfg
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{name}_airflow"')


def test_role_is_least_privilege_owns_its_database_and_provisioning_is_idempotent(cfg):
    name = pg_role.pg_database(cfg)
    # an older run left a table owned by the superuser: it must be handed to the role
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(cfg.pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE legado (id serial PRIMARY KEY)")
    first = pg_role.provision(cfg)
    assert (first.created_role, first.created_database) == (True, False)
    assert first.handed_over >= 1
    again = pg_role.provision(cfg)
    assert (again.created_role, again.created_database, again.handed_over) == (False, False, 0)
    with psycopg.connect(ADMIN) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,"
            " rolpassword LIKE 'SCRAM-SHA-256$%%' FROM pg_authid WHERE rolname = %s",
            (first.role,)).fetchone()
        assert row == (False, False, False, False, False, True)
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                             (name,)).fetchone()[0]
        assert owner == first.role
    with psycopg.connect(pg_role.app_dsn(cfg), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == first.role
        conn.execute("CREATE TABLE nueva (id int)")  # Airflow's migrations can run
        conn.execute("INSERT INTO legado DEFAULT VALUES")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE DATABASE otra")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE ROLE intruso SUPERUSER")
