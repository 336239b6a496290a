"""The cheap schema check that lets ``up`` skip ``airflow db migrate`` only when it is a no-op."""

from __future__ import annotations

import sqlite3

import pytest
from opsbook.stack import schema

pytestmark = pytest.mark.unit


def _script(folder, name, rev, down):
    down_txt = "None" if down is None else repr(down)
    (folder / name).write_text(f'"""m"""\nrevision = "{rev}"\ndown_revision = {down_txt}\n')


@pytest.fixture
def migrations(tmp_path):
    folder = tmp_path / "versions"
    folder.mkdir()
    _script(folder, "0001_a.py", "aaa", None)
    _script(folder, "0002_b.py", "bbb", "aaa")
    _script(folder, "0003_c.py", "ccc", "bbb")
    (folder / "__init__.py").write_text("")
    return folder


def _db(path, revision):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        if revision:
            conn.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    return f"sqlite:///{path}"


def test_head_is_the_revision_nobody_descends_from(migrations):
    assert schema.head_revision(migrations) == "ccc"


def test_two_heads_are_not_guessed(migrations):
    _script(migrations, "0004_d.py", "ddd", "bbb")
    assert schema.head_revision(migrations) is None


def test_merge_revision_with_tuple_down_revision(migrations):
    _script(migrations, "0004_d.py", "ddd", "bbb")
    _script(migrations, "0005_m.py", "mmm", ("ccc", "ddd"))
    assert schema.head_revision(migrations) == "mmm"


def test_db_at_head_is_current(tmp_path, migrations):
    res = schema.check(_db(tmp_path / "a.db", "ccc"), migrations)
    assert res.current and res.db_revision == "ccc" and res.head_revision == "ccc"


def test_older_db_is_migrated(tmp_path, migrations):
    res = schema.check(_db(tmp_path / "a.db", "bbb"), migrations)
    assert not res.current and "bbb" in res.reason


@pytest.mark.parametrize("revision", [None])
def test_empty_version_table_is_migrated(tmp_path, migrations, revision):
    assert not schema.check(_db(tmp_path / "a.db", revision), migrations).current


def test_missing_db_is_migrated_and_not_created(tmp_path, migrations):
    db = tmp_path / "nuevo.db"
    assert not schema.check(f"sqlite:///{db}", migrations).current
    assert not db.exists()


def test_other_engines_always_migrate(migrations):
    assert not schema.check("mysql+mysqldb://u:p@h/db", migrations).current


def test_unreachable_postgres_is_migrated(migrations):
    check = schema.check("postgresql+psycopg2://u:p@127.0.0.1:1/db", migrations)
    assert not check.current and check.db_revision is None


def test_postgres_at_head_skips_the_migration(migrations):
    """Celery mode's PostgreSQL metadata DB: read in a throwaway schema of the course server."""
    import uuid
    from urllib.parse import urlsplit

    import psycopg
    from opsbook.settings import settings

    name = f"t_{uuid.uuid4().hex[:8]}"
    dsn = urlsplit(settings.pg_dsn)._replace(path="/postgres").geturl()  # always there
    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL del curso no disponible: {exc}")
    with admin:
        admin.execute(f"CREATE SCHEMA {name}")
        try:
            url = dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
            url += f"?options=-csearch_path%3D{name}"
            assert not schema.check(url, migrations).current  # no alembic_version yet
            admin.execute(f"CREATE TABLE {name}.alembic_version (version_num TEXT)")
            admin.execute(f"INSERT INTO {name}.alembic_version VALUES ('bbb')")
            assert schema.check(url, migrations).db_revision == "bbb"
            assert not schema.check(url, migrations).current
            admin.execute(f"UPDATE {name}.alembic_version SET version_num = 'ccc'")
            assert schema.check(url, migrations).current
        finally:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


def test_installed_airflow_has_one_head():
    head = schema.head_revision()
    assert head is not None and len(head) == 12


class _Stop(Exception):
    """Ends ``lifecycle._start`` once the order of interest is known."""


@pytest.mark.parametrize("cold", [True, False])
def test_a_cold_start_migrates_while_supervisord_imports_airflow(tmp_path, monkeypatch, cold):
    """From cold the migration is already running when supervisord (the zygote) starts
    importing; with supervisord up, the api-server's state still decides, after the re-plan."""
    import dataclasses

    from opsbook.settings import settings
    from opsbook.stack import lifecycle

    cfg = dataclasses.replace(settings, var=tmp_path / "var")
    order: list[str] = []
    monkeypatch.setattr(lifecycle.sup, "is_running", lambda cfg: not cold)
    monkeypatch.setattr(lifecycle.service_configs, "write_all", lambda cfg: None)
    monkeypatch.setattr(lifecycle.service_configs, "front_door_port", lambda cfg: cfg.ports.airflow)
    monkeypatch.setattr(lifecycle, "check_ports", lambda *args: None)
    monkeypatch.setattr(lifecycle, "states", lambda cfg: {})  # the api-server is not running
    monkeypatch.setattr(lifecycle.sup, "rpc", lambda cfg: None)
    monkeypatch.setattr(lifecycle.schema, "check",
                        lambda url: schema.SchemaCheck(False, None, "ccc", "base nueva"))

    def migrate(cfg, env):
        order.append("migrate")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:///")
        if not cold:
            raise _Stop

    def apply(progs, cfg, mode):
        order.append("supervisord")
        if cold:
            raise _Stop

    monkeypatch.setattr(lifecycle, "_migrate", migrate)
    monkeypatch.setattr(lifecycle, "apply_programs", apply)
    with pytest.raises(_Stop):
        lifecycle._start("local", 0, {"executor": "local", "workers": 0}, 60, cfg, False)
    assert order == (["migrate", "supervisord"] if cold else ["supervisord", "migrate"])
