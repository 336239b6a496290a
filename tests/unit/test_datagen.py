"""The sales generator: deterministic, defects in known numbers, clear Spanish errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from opsbook.pipeline import datagen

pytestmark = pytest.mark.unit


def _gen(tmp_path, name="a.csv", **kw):
    kw = {"n_rows": 3000, "bad_fraction": 0.12, "seed": 5} | kw
    return datagen.generate("2026-03-10", path=tmp_path / name, **kw)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a, b = _gen(tmp_path, "a.csv"), _gen(tmp_path, "b.csv")
    c = _gen(tmp_path, "c.csv", seed=6)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.path.read_bytes() != c.path.read_bytes()


def test_file_has_the_contract_columns_rows_and_day(tmp_path):
    landing = _gen(tmp_path, bad_fraction=0.0)
    frame = pd.read_csv(landing.path, dtype=str)
    assert tuple(frame.columns) == datagen.COLUMNS
    assert len(frame) == 3000 == landing.rows == landing.valid_rows
    assert frame["ts"].str.startswith("2026-03-10T").all()
    assert frame["order_id"].is_unique


def test_defects_are_split_evenly_and_add_up(tmp_path):
    landing = _gen(tmp_path)
    assert set(landing.expected) == set(datagen.DEFECTS)
    assert sum(landing.expected.values()) == 360  # 12 % of 3000
    assert max(landing.expected.values()) - min(landing.expected.values()) <= 1
    assert landing.valid_rows == 3000 - 360


def test_duplicates_reuse_order_ids_of_the_file(tmp_path):
    landing = _gen(tmp_path)
    ids = pd.read_csv(landing.path, dtype=str)["order_id"].dropna()
    assert ids.duplicated().sum() == landing.expected["duplicate_order_id"]


def test_manifest_records_params_and_expected_counts(tmp_path):
    landing = _gen(tmp_path)
    manifest = datagen.read_manifest(landing.path)
    assert manifest == json.loads(json.dumps(landing.to_json()))
    assert manifest["params"] == {"n_rows": 3000, "bad_fraction": 0.12, "seed": 5,
                                  "drift": "none"}
    assert datagen.read_manifest(tmp_path / "hand_dropped.csv") is None


def test_schema_drift_options(tmp_path):
    extra = _gen(tmp_path, "x.csv", drift="extra_column")
    assert datagen.EXTRA_COLUMN in pd.read_csv(extra.path, nrows=1).columns
    missing = _gen(tmp_path, "m.csv", drift="missing_column")
    assert datagen.MISSING_COLUMN not in pd.read_csv(missing.path, nrows=1).columns
    assert missing.expected["missing_column"] == 3000 and missing.valid_rows == 0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"n_rows": 0}, "n_rows"), ({"bad_fraction": 0.7}, "entre 0 y 0.5"),
     ({"drift": "rara"}, "drift"), ({"logical_date": "2026-02-30"}, "AAAA-MM-DD")],
)
def test_bad_arguments_fail_in_spanish(tmp_path, kwargs, words):
    args = {"logical_date": "2026-03-10", "n_rows": 10, "path": tmp_path / "z.csv"} | kwargs
    with pytest.raises(ValueError, match=words):
        datagen.generate(**args)
    assert not (tmp_path / "z.csv").exists()
