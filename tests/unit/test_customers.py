"""load_customers: legacy files of every version reach the v3 table; bad files are quarantined."""

from __future__ import annotations

import dataclasses
import json

import fastavro
import pytest
from opsbook.pipeline import customers
from opsbook.pipeline.customer_files import (
    CustomerFileError,
    legacy_records,
    read_customer_file,
    write_customer_file,
)
from opsbook.pipeline.schema_registry import registry

pytestmark = pytest.mark.unit
DATE = "2026-03-14"


@pytest.fixture
def var(tmp_path, monkeypatch):
    """Point the module at a private var/ (SQLite warehouse, landing and quarantine folders)."""
    monkeypatch.setattr(customers, "settings",
                        dataclasses.replace(customers.settings, var=tmp_path, warehouse_url=None))
    return tmp_path


def test_no_files_gives_zero_counts_and_touches_nothing(var):
    result = customers.load_customers(DATE)
    assert result["files"] == result["records_loaded"] == result["files_quarantined"] == 0
    assert not (var / "warehouse").exists()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "avro"])
def test_files_round_trip_in_every_format(tmp_path, fmt):
    for version in (1, 2, 3):
        records = legacy_records(20, version, seed=3)
        path = write_customer_file(tmp_path, records, version, fmt)
        data = read_customer_file(path)
        assert (data.version, data.records) == (version, records)


def test_mixed_legacy_files_load_into_v3_table_idempotently(var):
    folder = customers.landing_folder(DATE)
    write_customer_file(folder, legacy_records(30, 1, first_id=1), 1, "csv")
    write_customer_file(folder, legacy_records(20, 2, first_id=31), 2, "jsonl")
    write_customer_file(folder, legacy_records(10, 3, first_id=51), 3, "avro")
    first = customers.load_customers(DATE)
    assert first["files_loaded"] == 3 and first["files_quarantined"] == 0
    assert first["records_by_version"] == {"v1": 30, "v2": 20, "v3": 10}
    second = customers.load_customers(DATE)
    assert second["records_loaded"] == 60
    rows = customers.query("SELECT id, created_at, updated_at, phone, version_origen FROM clientes")
    assert len(rows) == 60  # same table after the re-run
    v1_rows = [r for r in rows if r[4] == 1]
    assert len(v1_rows) == 30
    assert all(r[2] == r[1] and r[3] is None for r in v1_rows)  # upgraded to v3


def test_bad_files_are_quarantined_with_reasons_and_good_ones_still_load(var):
    folder = customers.landing_folder(DATE)
    write_customer_file(folder, legacy_records(5, 1), 1, "jsonl", name="bueno")
    write_customer_file(folder, [{"id": "x", "name": "A", "created_at": "c"}], 1, "jsonl",
                        name="tipos")
    write_customer_file(folder, [{"id": 9, "name": "A", "created_at": "c", "extra": 1}], 1,
                        "jsonl", name="extra")
    (folder / "clientes_v1_vacio.csv").write_bytes(b"")
    (folder / "clientes_v1_latin1.csv").write_bytes("id,name,created_at\n1,Nuñez,c\n"
                                                    .encode("latin-1"))
    (folder / "clientes_v9_futuro.jsonl").write_text('{"id": 1}\n')
    (folder / "clientes.xlsx").write_bytes(b"PK")
    proposal = registry().proposal().parsed
    with (folder / "propuesta.avro").open("wb") as fo:
        fastavro.writer(fo, proposal, [{"id": 1, "full_name": "A", "email": None,
                                        "updated_at": None, "phone": None}])
    result = customers.load_customers(DATE)
    q = result["quarantine"]
    assert result["files_loaded"] == 1 and result["records_loaded"] == 5
    assert result["files_quarantined"] == len(q) == 7
    assert "campo 'id': tipo incorrecto (esperado: long; recibido: string 'x')" in \
        q["clientes_v1_tipos.jsonl"]
    assert "campo 'extra': campo no declarado en v1" in q["clientes_v1_extra.jsonl"]
    assert "vacío" in q["clientes_v1_vacio.csv"]
    assert "no es UTF-8" in q["clientes_v1_latin1.csv"]
    assert "v9 desconocido" in q["clientes_v9_futuro.jsonl"]
    assert "no declara la versión" in q["clientes.xlsx"]
    assert "incompatible con v3" in q["propuesta.avro"] and "'name'" in q["propuesta.avro"]
    recorded = dict(customers.query("SELECT archivo, motivo FROM clientes_cuarentena"))
    assert recorded == q
    copies = customers.quarantine_folder(DATE)
    for name, reason in q.items():
        assert (copies / name).read_bytes() == (folder / name).read_bytes()
        assert (copies / f"{name}.motivo.txt").read_text().strip() == reason
    customers.load_customers(DATE)  # re-run: same quarantine, no duplicates
    assert len(customers.query("SELECT * FROM clientes_cuarentena")) == 7


def test_unknown_but_compatible_avro_schema_is_read_through_resolution(var):
    folder = customers.landing_folder(DATE)
    folder.mkdir(parents=True)
    schema = fastavro.parse_schema({
        "type": "record", "name": "Cliente", "namespace": "otro.sistema",
        "fields": [{"name": "id", "type": "int"}, {"name": "name", "type": "string"},
                   {"name": "created_at", "type": "string"}, {"name": "pais", "type": "string"}],
    })
    with (folder / "externo.avro").open("wb") as fo:
        fastavro.writer(fo, schema, [{"id": 7, "name": "A", "created_at": "c", "pais": "ES"}])
    result = customers.load_customers(DATE)
    assert result["records_loaded"] == 1 and result["quarantine"] == {}
    assert customers.query("SELECT id, name, email, phone FROM clientes") == [(7, "A", None,
                                                                               None)]


def test_schema_version_field_must_agree_with_file_name(tmp_path):
    path = tmp_path / "clientes_v2_lote.jsonl"
    path.write_text(json.dumps({"schema_version": 1, "id": 1, "name": "A",
                                "created_at": "c"}) + "\n")
    with pytest.raises(CustomerFileError, match="schema_version=1 no coincide con la v2"):
        read_customer_file(path)
    path.write_text(json.dumps({"schema_version": 2, "id": 1, "name": "A",
                                "created_at": "c"}) + "\n")
    assert read_customer_file(path).records == [{"id": 1, "name": "A", "created_at": "c"}]


def test_csv_with_more_cells_than_columns_is_an_error(tmp_path):
    path = tmp_path / "clientes_v1_lote.csv"
    path.write_text("id,name,created_at\n1,A,c,sobra\n")
    with pytest.raises(CustomerFileError, match="más celdas que columnas"):
        read_customer_file(path)


def test_postgresql_warehouse_gets_the_same_table(tmp_path, monkeypatch):
    """Same load against PostgreSQL (the machine's server; skipped only if it is unreachable)."""
    psycopg = pytest.importorskip("psycopg")
    from opsbook.pipeline.warehouse import ensure_database

    url = "postgresql://postgres@127.0.0.1:5432/ob_test_customers"
    try:
        ensure_database(url)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL no disponible: {exc}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS clientes, clientes_cuarentena")
    monkeypatch.setattr(customers, "settings",
                        dataclasses.replace(customers.settings, var=tmp_path, warehouse_url=url))
    folder = customers.landing_folder(DATE)
    write_customer_file(folder, legacy_records(15, 1), 1, "csv")
    write_customer_file(folder, legacy_records(5, 3, first_id=16), 3, "avro")
    (folder / "clientes_v5_x.jsonl").write_text("{}\n")
    for _ in range(2):  # idempotent
        result = customers.load_customers(DATE)
    assert result["records_by_version"] == {"v1": 15, "v3": 5}
    assert customers.query("SELECT COUNT(*), COUNT(*) FILTER (WHERE updated_at = created_at) "
                           "FROM clientes WHERE version_origen = 1") == [(15, 15)]
    assert customers.quarantined_files(DATE)["archivo"].tolist() == ["clientes_v5_x.jsonl"]
