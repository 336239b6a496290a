"""The DR drill's file steps on real SQLite files: backup, destroy, restore, fingerprint."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from opsbook.settings import settings
from opsbook.stack import disaster_recovery as dr

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path):
    cfg = dataclasses.replace(settings, var=tmp_path / "var")
    for db, table in ((cfg.airflow_home / "airflow.db", "dag_run"),
                      (cfg.warehouse_path, "sales")):
        db.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(db) as conn:
            conn.execute(f"CREATE TABLE {table} (id INTEGER, name TEXT)")
            conn.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(2, "b"), (1, "a")])
    cfg.secrets_dir.mkdir(parents=True)
    (cfg.secrets_dir / "fernet_key").write_text("clave")
    return cfg


def test_backup_destroy_restore_gives_back_identical_data(cfg, tmp_path):
    before = dr.fingerprint(cfg.warehouse_path)
    assert before["sales"]["rows"] == 2
    assert sorted(dr.backup(tmp_path / "copia", cfg)) == ["airflow.db", "secrets", "ventas.sqlite"]
    gone = dr.destroy(cfg)
    assert not cfg.warehouse_path.exists() and not cfg.secrets_dir.exists()
    assert "airflow/airflow.db" in gone
    dr.restore(tmp_path / "copia", cfg)
    assert dr.fingerprint(cfg.warehouse_path) == before
    assert (cfg.secrets_dir / "fernet_key").read_text() == "clave"
    assert oct(cfg.secrets_dir.stat().st_mode & 0o777) == "0o700"


def test_fingerprint_sees_a_changed_row(cfg):
    before = dr.fingerprint(cfg.warehouse_path)
    with sqlite3.connect(cfg.warehouse_path) as conn:
        conn.execute("UPDATE sales SET name = 'z' WHERE id = 1")
    after = dr.fingerprint(cfg.warehouse_path)
    assert after["sales"]["rows"] == 2 and after != before


def test_restore_time_is_stop_to_verified():
    report = dr.DrillReport(started="t", backup_dir="b", steps=[
        {"paso": name, "s": s, "detalle": ""} for name, s in
        (("ejecución previa de smoke", 9.0), ("copia en caliente", 1.0), ("parar la pila", 5.0),
         ("destruir el estado", 0.1), ("restaurar la copia", 0.2), ("arrancar la pila", 40.0),
         ("verificar", 10.0))])
    assert report.restore_s == 55.3
    assert report.to_dict()["restore_s"] == 55.3
