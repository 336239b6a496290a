"""Validation and quarantine: one reason per bad row; quarantine counts == injected defects."""

from __future__ import annotations

import dataclasses
import sqlite3

import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from opsbook.pipeline import datagen, etl, validation
from opsbook.pipeline import params as pipeline_params

pytestmark = pytest.mark.unit

GOOD = {
    "order_id": "V1", "ts": "2026-03-10T10:00:00", "customer_id": "C1", "product_id": "P1",
    "category": "hogar", "quantity": "2", "unit_price": "9.99", "currency": "EUR",
    "store_id": "T1", "region": "sur", "channel": "app",
}


@pytest.fixture()
def tmp_var(tmp_path, monkeypatch):
    cfg = dataclasses.replace(etl.settings, var=tmp_path / "var")
    monkeypatch.setattr(etl, "settings", cfg)
    return cfg.var


def _frame(*rows):
    frame = pd.DataFrame([GOOD | r for r in rows], dtype=str)
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame.replace({"": pd.NA})


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"customer_id": ""}, "missing_required"), ({"quantity": "dos"}, "wrong_type"),
     ({"unit_price": "12,50€"}, "wrong_type"), ({"ts": "31/02/2026"}, "bad_date"),
     ({"ts": "2026-13-01T10:00:00"}, "bad_date"), ({"quantity": "-3"}, "negative_quantity"),
     ({"currency": "BTC"}, "unknown_currency")],
)
def test_each_defect_gets_its_reason(change, reason):
    bad = validation.validate_chunk(_frame({}, change, {}))
    assert list(bad.index) == [3]
    assert bad.loc[3, "reason"] == reason
    assert bad.loc[3, "detail"].startswith(next(iter(change)))


def test_clean_rows_pass_and_optional_fields_may_be_empty():
    assert validation.validate_chunk(_frame({}, {"category": "", "channel": ""})).empty


def test_highest_priority_reason_wins():
    bad = validation.validate_chunk(_frame({"quantity": "-1", "currency": "XXX", "ts": ""}))
    assert bad.iloc[0]["reason"] == "missing_required"


def test_typed_output():
    typed = validation.to_typed(_frame({}))
    assert typed["quantity"].dtype == "int64" and typed.loc[2, "ts"] == "2026-03-10 10:00:00"


def test_schema_drift_detection():
    assert validation.schema_drift([*datagen.COLUMNS, "x"]) == {"extra": ["x"], "missing": []}
    cols = [c for c in datagen.COLUMNS if c != "region"]
    assert validation.schema_drift(cols) == {"extra": [], "missing": ["region"]}


def _transform(tmp_path, chunk_rows=700, **kw):
    landing = datagen.generate("2026-03-10", path=tmp_path / "in.csv", **kw)
    raw = etl.extract("2026-03-10", landing=landing.path)
    return landing, raw, etl.transform(raw.raw_path, "2026-03-10", chunk_rows=chunk_rows)


def test_quarantine_counts_equal_injected_defects_across_chunks(tmp_path, tmp_var):
    landing, raw, result = _transform(tmp_path, n_rows=5000, bad_fraction=0.2, seed=3)
    assert raw.records == 5000 == result.records_in
    expected = {k: v for k, v in landing.expected.items() if v}
    assert result.by_reason == expected
    assert result.valid == landing.valid_rows
    assert result.quality == pytest.approx(landing.valid_rows / 5000)
    with sqlite3.connect(result.staging_db) as conn:
        ids = [r[0] for r in conn.execute("SELECT order_id FROM stage")]
        assert len(ids) == len(set(ids)) == landing.valid_rows  # deduped, none lost
        raw_rows = conn.execute("SELECT COUNT(*) FROM quarantine WHERE raw IS NULL").fetchone()
        assert raw_rows == (0,)


@hsettings(max_examples=6, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), fraction=st.floats(0, 0.5), rows=st.integers(1, 1500))
def test_property_nothing_dropped_nothing_doubled(tmp_path, tmp_var, seed, fraction, rows):
    landing, _, result = _transform(tmp_path, chunk_rows=400, n_rows=rows, bad_fraction=fraction,
                                    seed=seed)
    assert result.valid + result.quarantined == rows
    assert result.by_reason == {k: v for k, v in landing.expected.items() if v}


def test_extra_column_is_tolerated_and_reported(tmp_path, tmp_var):
    landing, _, result = _transform(tmp_path, n_rows=800, bad_fraction=0.0, drift="extra_column")
    assert result.drift == {"extra": [datagen.EXTRA_COLUMN], "missing": []}
    assert result.valid == 800 and result.quarantined == 0


def test_missing_column_quarantines_every_row(tmp_path, tmp_var):
    landing, _, result = _transform(tmp_path, n_rows=800, drift="missing_column")
    assert result.by_reason == {"missing_column": 800} and result.valid == 0
    assert result.quality == 0.0


def test_missing_landing_file_names_the_path(tmp_path, tmp_var):
    with pytest.raises(etl.ExtractError, match=str(tmp_path / "nada.csv")):
        etl.extract("2026-03-10", landing=tmp_path / "nada.csv")


def test_unreadable_landing_file_is_an_extract_error(tmp_path, tmp_var):
    bad = tmp_path / "bin.csv"
    bad.write_bytes(b"")
    with pytest.raises(etl.ExtractError, match="bin.csv"):
        etl.extract("2026-03-10", landing=bad)


def test_params_defaults_and_spanish_errors():
    assert pipeline_params.parse(None) == pipeline_params.DEFAULTS
    assert pipeline_params.parse({"n_rows": 10, "seed": None}).n_rows == 10
    with pytest.raises(ValueError, match="fail_at='carga' inválido: usa uno de"):
        pipeline_params.parse({"fail_at": "carga"})
    with pytest.raises(ValueError, match="bad_fraction=0.9 inválido"):
        pipeline_params.parse({"bad_fraction": 0.9})
    with pytest.raises(ValueError, match="parámetro desconocido 'filas'"):
        pipeline_params.parse({"filas": 3})
