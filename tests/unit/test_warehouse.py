"""Warehouse: idempotent load per date, atomic rollback, checkpoint restore, outage drill.

Runs on SQLite and on the real PostgreSQL at 127.0.0.1:5432 (a throw-away database created
and dropped by the fixture; skipped only when no PostgreSQL answers there).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest
from opsbook.pipeline import datagen, etl, warehouse

DS = "2026-03-11"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def pg_url():
    psycopg = pytest.importorskip("psycopg")
    name = f"ob_pipeline_test_{os.getpid()}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL no disponible en 127.0.0.1:5432: {exc}")
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    warehouse.ensure_database(url)
    yield url
    warehouse.Warehouse(url).set_reachable(True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def wh(request, tmp_path):
    if request.param == "sqlite":
        return warehouse.Warehouse(f"sqlite:///{tmp_path / 'wh.sqlite'}")
    db = warehouse.Warehouse(request.getfixturevalue("pg_url"))
    with db.transaction() as conn:  # each test starts from empty tables
        db.ensure_schema(conn)
        for table in (warehouse.SALES, warehouse.QUARANTINE, warehouse.CHECKPOINT,
                      warehouse.CHECKPOINTS, warehouse.LOAD_LOG):
            conn.execute(f"DELETE FROM {table}")
    return db


@pytest.fixture()
def staged(tmp_path, monkeypatch):
    monkeypatch.setattr(etl, "settings", dataclasses.replace(etl.settings, var=tmp_path / "v"))

    def make(seed: int, n_rows: int = 1200):
        landing = datagen.generate(DS, n_rows=n_rows, bad_fraction=0.1, seed=seed,
                                   path=tmp_path / f"in_{seed}.csv")
        raw = etl.extract(DS, landing=landing.path)
        stage = Path(etl.transform(raw.raw_path, DS, chunk_rows=500).staging_db)
        # the staging file of a date is rewritten by the next transform: keep this one
        return landing, shutil.copyfile(stage, tmp_path / f"stage_{seed}.sqlite")

    return make


def _snapshot(db):
    return db.read(f"SELECT * FROM {warehouse.SALES} ORDER BY order_id").to_dict("records")


def test_load_twice_gives_identical_rows(wh, staged):
    landing, stage = staged(1)
    first = etl.load(stage, DS, wh, chunk_rows=400)
    rows = _snapshot(wh)
    second = etl.load(stage, DS, wh, chunk_rows=400)
    assert first.rows_loaded == second.rows_loaded == landing.valid_rows
    assert _snapshot(wh) == rows
    assert wh.count(ds=DS) == landing.valid_rows
    assert wh.count(warehouse.QUARANTINE, DS) == landing.rows - landing.valid_rows


def test_other_dates_are_untouched(wh, staged):
    _, stage = staged(1)
    etl.load(stage, DS, wh)
    etl.load(stage, "2026-03-12", wh)
    etl.load(stage, DS, wh)
    assert wh.count(ds="2026-03-12") == wh.count(ds=DS) > 0


def test_failure_mid_load_rolls_back_everything(wh, staged):
    landing, stage = staged(1)
    etl.load(stage, DS, wh)
    before = _snapshot(wh)
    _, other = staged(2)
    with pytest.raises(warehouse.WarehouseError, match="fail_at=load"):
        etl.load(other, DS, wh, chunk_rows=300, fail=True)
    assert _snapshot(wh) == before
    assert wh.count(warehouse.QUARANTINE, DS) == landing.rows - landing.valid_rows


def test_restore_checkpoint_brings_back_previous_load(wh, staged):
    _, stage1 = staged(1)
    _, stage2 = staged(2, n_rows=700)
    with pytest.raises(warehouse.WarehouseError, match="no hay punto de control"):
        wh.restore_checkpoint(DS)
    etl.load(stage1, DS, wh)
    first = _snapshot(wh)
    etl.load(stage2, DS, wh)
    assert _snapshot(wh) != first
    assert wh.restore_checkpoint(DS) == len(first)
    assert _snapshot(wh) == first


def test_blocked_warehouse_refuses_connections_then_recovers(wh):
    wh.set_reachable(False)
    try:
        with pytest.raises(warehouse.WarehouseError, match="almacén inaccesible"):
            wh.count()
    finally:
        wh.set_reachable(True)
    assert wh.count() == 0


def test_open_warehouse_default_is_sqlite_under_var():
    db = warehouse.open_warehouse()
    assert db.dialect in ("sqlite", "postgresql")
    assert warehouse.Warehouse("postgresql://x/y").sql("a = ?") == "a = %s"
