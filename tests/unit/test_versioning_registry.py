"""Schema registry: validation errors, upgrade/downgrade chain, round-trips (hypothesis)."""

from __future__ import annotations

import io

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opsbook.pipeline.schema_registry import DataLossError, SchemaRegistry, registry
from opsbook.pipeline.versioning import legacy_mix, read_matrix, validate_and_upgrade

pytestmark = pytest.mark.unit

REG = registry()
ids = st.integers(min_value=-(2**63), max_value=2**63 - 1)
texts = st.text(max_size=30)
v1_records = st.fixed_dictionaries({"id": ids, "name": texts, "created_at": texts})
v3_restorable = v1_records.map(lambda r: {**r, "email": None, "updated_at": r["created_at"],
                                          "phone": None})


def test_registry_finds_three_versions_and_not_the_proposal():
    assert REG.versions == [1, 2, 3]
    assert REG.latest == 3
    assert REG.get(3).names == ("id", "name", "created_at", "email", "updated_at", "phone")
    with pytest.raises(KeyError, match="v7 desconocida"):
        REG.get(7)


def test_empty_schema_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no hay esquemas"):
        SchemaRegistry(tmp_path)


@settings(max_examples=150, deadline=None)
@given(v1_records)
def test_v1_to_v3_to_v1_round_trip_is_lossless(record):
    up = REG.upgrade(record, 1)
    assert REG.validate([up], 3) == []
    assert up["updated_at"] == record["created_at"]  # derived field
    assert up["email"] is None and up["phone"] is None  # declared defaults
    assert REG.downgrade_losses(up, 3, 1) == []
    assert REG.downgrade(up, 3, 1) == record


@settings(max_examples=100, deadline=None)
@given(v3_restorable)
def test_v3_records_without_new_information_round_trip_through_v1(record):
    assert REG.upgrade(REG.downgrade(record, 3, 1), 1) == record


@settings(max_examples=100, deadline=None)
@given(v1_records)
def test_upgrade_agrees_with_avro_resolution_except_derived_fields(record):
    """fastavro reading v1 bytes with the v3 schema fills defaults; we also derive updated_at."""
    v1, v3 = REG.get(1).schema.parsed, REG.get(3).schema.parsed
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, v1, record)
    buf.seek(0)
    resolved = fastavro.schemaless_reader(buf, v1, v3)
    ours = REG.upgrade(record, 1)
    assert {**resolved, "updated_at": record["created_at"]} == ours


@settings(max_examples=50, deadline=None)
@given(v1_records, st.text(min_size=1, max_size=12))
def test_downgrade_that_drops_data_says_so(record, phone):
    up = {**REG.upgrade(record, 1), "phone": phone}
    with pytest.raises(DataLossError, match="'phone'"):
        REG.downgrade(up, 3, 1)
    assert REG.downgrade(up, 3, 1, allow_loss=True) == record


def test_downgrade_v3_to_v2_keeps_email_and_updated_at():
    rec = {"id": 1, "name": "A", "created_at": "c", "email": "a@b.es", "updated_at": "u",
           "phone": None}
    assert REG.downgrade(rec, 3, 2) == {k: rec[k] for k in REG.get(2).names}
    with pytest.raises(DataLossError, match="'email'.*'updated_at'"):
        REG.downgrade(rec, 3, 1)


def test_v2_record_keeps_its_null_updated_at_on_upgrade():
    rec = {"id": 1, "name": "A", "created_at": "c", "email": None, "updated_at": None}
    assert REG.upgrade(rec, 2)["updated_at"] is None
    with pytest.raises(ValueError, match="downgrade"):
        REG.upgrader(3, 1)


@pytest.mark.parametrize("record,field,expected,received", [
    ({"id": "7", "name": "A", "created_at": "c"}, "id", "long", "string '7'"),
    ({"id": True, "name": "A", "created_at": "c"}, "id", "long", "boolean True"),
    ({"id": 2**63, "name": "A", "created_at": "c"}, "id", "long", "long"),
    ({"id": 1, "name": None, "created_at": "c"}, "name", "string", "null"),
    ({"id": 1, "name": "A"}, "created_at", "string", "(ausente)"),
    ({"id": 1, "name": "A", "created_at": "c", "email": "x"}, "email",
     "(no existe en el esquema)", "string"),
])
def test_validation_errors_name_record_field_expected_and_received(record, field, expected,
                                                                   received):
    errors = REG.validate([{"id": 1, "name": "ok", "created_at": "c"}, record], 1)
    assert len(errors) == 1
    error = errors[0]
    assert (error.record, error.field, error.expected) == (1, field, expected)
    assert error.received.startswith(received)
    assert f"registro 1, campo {field!r}" in str(error)


def test_v2_optional_fields_may_be_absent_but_must_have_right_type():
    assert REG.validate([{"id": 1, "name": "A", "created_at": "c"}], 2) == []
    errors = REG.validate([{"id": 1, "name": "A", "created_at": "c", "email": 5}], 2)
    assert [(e.field, e.expected, e.received) for e in errors] == [("email", "null | string",
                                                                    "long 5")]


def test_non_record_values_are_reported_not_crashed():
    errors = REG.validate([["id", 1], None], 3)
    assert [e.record for e in errors] == [0, 1]
    assert all(e.problem == "el registro no es un objeto" for e in errors)


def test_detect_version():
    batches = legacy_mix({1: 3, 2: 3, 3: 3})
    for version, records in batches.items():
        assert {REG.detect_version(r) for r in records} == {version}
    assert REG.detect_version({"id": 1, "name": "A", "created_at": "c", "email": None}) == 2
    assert REG.detect_version({"foo": 1}) is None


def test_validate_and_upgrade_keeps_valid_and_reports_invalid():
    records = legacy_mix({1: 10})[1] + [{"id": "x", "name": "B", "created_at": "c"}]
    upgraded, errors = validate_and_upgrade(records, 1)
    assert len(upgraded) == 10 and REG.validate(upgraded, 3) == []
    assert [(e.record, e.field) for e in errors] == [(10, "id")]


def test_read_matrix_shape_and_verdicts():
    matrix = read_matrix()
    assert list(matrix.index) == list(matrix.columns) == ["v1", "v2", "v3", "v4"]
    assert matrix.loc[["v1", "v2", "v3"], ["v1", "v2", "v3"]].all().all()
    assert not matrix.loc["v4", ["v1", "v2", "v3"]].any()
    assert not matrix.loc[["v1", "v2", "v3"], "v4"].any()
