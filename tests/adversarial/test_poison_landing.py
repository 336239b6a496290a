"""Poison and empty landing files against ``opsbook pipeline run`` (the DAG's ETL code path).

A careless or hostile upstream sends: a file with a few rows that overflow the warehouse's
integer, carry non-UTF-8 bytes or have extra fields; a header-only file, twice; a file with far
fewer rows than the date holds; an empty file. Each test asserts that nothing good was lost:
the poison rows (only those) are quarantined with a reason, and the date's rows survive every
file that would have replaced them with less, unless ``--forzar`` says so (logged, undoable).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opsbook.cli.main import main
from opsbook.pipeline import datagen, etl, warehouse

pytestmark = pytest.mark.unit

DS = "2026-03-20"
ROWS = 600


@pytest.fixture
def var(tmp_path, monkeypatch):
    """A private ``var/`` (staging + SQLite warehouse) for the ETL and the warehouse."""
    cfg = dataclasses.replace(etl.settings, var=tmp_path / "var", warehouse_url=None)
    monkeypatch.setattr(etl, "settings", cfg)
    monkeypatch.setattr(warehouse, "settings", cfg)
    return cfg.var


@pytest.fixture
def clean_file(tmp_path) -> Path:
    """A landing file of :data:`ROWS` valid rows."""
    return datagen.generate(DS, n_rows=ROWS, bad_fraction=0.0, seed=11,
                            path=tmp_path / "limpio.csv").path


def cli(*argv: str) -> tuple[int, dict | str]:
    """Run ``opsbook`` in-process; returns the exit code and the parsed JSON (or the text)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    text = out.getvalue()
    try:
        return code, json.loads(text)
    except json.JSONDecodeError:
        return code, text


def run(path: Path, *extra: str) -> tuple[int, dict | str]:
    return cli("pipeline", "run", "--fecha", DS, "--fichero", str(path), "--json", *extra)


def held() -> int:
    code, state = cli("pipeline", "estado", "--fecha", DS, "--json")
    assert code == 0
    return state["filas_en_almacen"]


def poison(src: Path, dst: Path, cells: dict[int, dict[str, bytes]],
           extra_fields: tuple[int, ...] = ()) -> Path:
    """Copy ``src`` replacing raw bytes of some cells (data row n = line n + 1)."""
    lines = src.read_bytes().split(b"\n")
    header = lines[0].decode().split(",")
    for row, changes in cells.items():
        fields = lines[row].split(b",")
        for column, value in changes.items():
            fields[header.index(column)] = value
        lines[row] = b",".join(fields)
    for row in extra_fields:
        lines[row] += b",sobra"
    dst.write_bytes(b"\n".join(lines))
    return dst


def test_two_poison_rows_load_all_but_those_two(var, clean_file, tmp_path):
    bad = poison(clean_file, tmp_path / "veneno.csv",
                 {10: {"quantity": b"99999999999999999999"},  # overflows int64 and INTEGER
                  20: {"region": "Le\xf3n".encode("latin-1")}})  # a non-UTF-8 byte
    code, report = run(bad)
    assert code == 0, report
    assert report["filas_leidas"] == ROWS
    assert report["filas_cargadas"] == ROWS - 2 == held()
    assert report["cuarentena_por_motivo"] == {"bad_encoding": 1, "out_of_range": 1}
    rows = warehouse.open_warehouse().read(
        "SELECT row_number, reason, detail FROM sales_quarantine WHERE logical_date = ?"
        " ORDER BY row_number", (DS,))
    assert rows.to_dict("records") == [
        {"row_number": 11, "reason": "out_of_range", "detail": "quantity=99999999999999999999"},
        {"row_number": 21, "reason": "bad_encoding", "detail": "region=Le\ufffdn"}]


def test_two_header_only_loads_in_a_row_keep_the_dates_rows(var, clean_file, tmp_path):
    assert run(clean_file)[0] == 0
    header_only = tmp_path / "solo_cabecera.csv"
    header_only.write_text(",".join(datagen.COLUMNS) + "\n")
    for _ in range(2):
        code, report = run(header_only)
        assert code == 1, report
        assert report["estado"] == "rechazada" and report["filas_leidas"] == 0
        assert "no trae filas válidas" in report["compuerta"]
        assert report["filas_en_almacen"] == ROWS == held()
    _, state = cli("pipeline", "estado", "--fecha", DS, "--json")
    assert [c["decision"] for c in state["ultimas_cargas"]] == ["rechazada", "rechazada",
                                                                 "cargada"]


def test_far_fewer_rows_are_refused_half_is_accepted(var, clean_file, tmp_path):
    assert run(clean_file)[0] == 0
    lines = clean_file.read_text().splitlines()
    few = tmp_path / "pocas.csv"
    few.write_text("\n".join(lines[:11]) + "\n")  # 10 rows where the date holds 600
    code, report = run(few)
    assert code == 1 and report["filas_validas"] == 10 and held() == ROWS
    half = tmp_path / "mitad.csv"
    half.write_text("\n".join(lines[:ROWS // 2 + 1]) + "\n")
    code, report = run(half)
    assert code == 0 and report["filas_cargadas"] == ROWS // 2 == held()


def test_forzar_is_logged_and_the_previous_rows_stay_restorable(var, clean_file, tmp_path,
                                                                caplog):
    assert run(clean_file)[0] == 0
    header_only = tmp_path / "solo_cabecera.csv"
    header_only.write_text(",".join(datagen.COLUMNS) + "\n")
    with caplog.at_level(logging.WARNING, logger="opsbook.pipeline.etl"):
        code, report = run(header_only, "--forzar")
    assert code == 0 and report["forzada"] and held() == 0
    assert any("FORZADA" in r.getMessage() for r in caplog.records)
    _, state = cli("pipeline", "estado", "--fecha", DS, "--json")
    assert state["ultimas_cargas"][0]["detalle"].startswith("forzada:")
    assert warehouse.open_warehouse().restore_checkpoint(DS) == ROWS == held()


@pytest.mark.parametrize(("column", "value", "loads"), [
    ("quantity", b"2147483647", True),  # INTEGER max: fine
    ("quantity", b"2147483648", False),  # one above
    ("quantity", b"9223372036854775808", False),  # int64 + 1
    ("quantity", b"9" * 400, False),  # float('9' * 400) is inf
    ("unit_price", b"9999999999.99", True),  # NUMERIC(12,2) holds < 10^10
    ("unit_price", b"9999999999.995", False),  # rounds to 10^10
    ("unit_price", b"1" + b"0" * 400 + b".5", False),
])
def test_numeric_overflow_is_quarantined_not_fatal(var, clean_file, tmp_path, column, value,
                                                   loads):
    code, report = run(poison(clean_file, tmp_path / "num.csv", {5: {column: value}}))
    assert code == 0, report
    assert report["filas_cargadas"] == ROWS - (0 if loads else 1)
    assert report["cuarentena_por_motivo"] == ({} if loads else {"out_of_range": 1})


def test_non_utf8_bytes_anywhere_in_a_row_quarantine_only_that_row(var, clean_file, tmp_path):
    cells = {3: {"order_id": b"\xff\xfe"}, 4: {"quantity": b"1\xe9"}, 5: {"channel": b"\x80"}}
    code, report = run(poison(clean_file, tmp_path / "bytes.csv", cells))
    assert code == 0, report
    assert report["cuarentena_por_motivo"] == {"bad_encoding": 3}
    assert report["filas_cargadas"] == ROWS - 3


def test_rows_with_wrong_field_counts_are_quarantined(var, clean_file, tmp_path):
    bad = poison(clean_file, tmp_path / "campos.csv", {7: {"quantity": b"tres"}},
                 extra_fields=(2, 9))
    code, report = run(bad)
    assert code == 0, report
    assert report["cuarentena_por_motivo"] == {"malformed_row": 2, "wrong_type": 1}
    assert report["filas_cargadas"] == ROWS - 3


@pytest.mark.parametrize(("content", "message"), [
    (b"", "no se puede leer"),
    (b"a,b,c\n1,2,3\n", "no tiene el esquema de ventas"),
    (b"order_id,t\xffs\n1,2\n", "faltan las columnas"),
])
def test_unusable_files_are_refused_before_touching_the_date(var, clean_file, tmp_path,
                                                             content, message):
    assert run(clean_file)[0] == 0
    path = tmp_path / "malo.csv"
    path.write_bytes(content)
    code, text = run(path)
    assert code == 2 and message in text
    assert held() == ROWS


def test_bad_date_and_missing_file_exit_2(var, tmp_path):
    code, text = cli("pipeline", "run", "--fecha", "2026-02-30", "--fichero", "x.csv")
    assert code == 2 and "fecha inválida" in text
    code, text = cli("pipeline", "run", "--fecha", DS, "--fichero", str(tmp_path / "no.csv"))
    assert code == 2 and "no existe el fichero" in text


def test_three_checkpoint_generations_are_kept_and_restorable(var, clean_file, tmp_path):
    lines = clean_file.read_text().splitlines()
    sizes = [ROWS, ROWS - 100, ROWS - 200, ROWS - 300]
    for n in sizes:
        part = tmp_path / f"p{n}.csv"
        part.write_text("\n".join(lines[:n + 1]) + "\n")
        assert run(part)[0] == 0
    wh = warehouse.open_warehouse()
    kept = wh.generations(DS)
    assert [g["filas"] for g in kept] == sizes[-2::-1]  # rows before loads 4, 3 and 2
    assert wh.restore_checkpoint(DS, back=3) == sizes[0] == held()
    with pytest.raises(warehouse.WarehouseError, match="solo guarda 3 generaciones"):
        wh.restore_checkpoint(DS, back=4)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(st.tuples(st.integers(1, 40), st.sampled_from(datagen.COLUMNS),
                                  st.binary(min_size=0, max_size=12)), min_size=1, max_size=6))
def test_fuzzed_cells_never_fail_the_date_and_every_row_is_accounted_for(tmp_path_factory,
                                                                         monkeypatch, garbage):
    base = tmp_path_factory.mktemp("fuzz")
    cfg = dataclasses.replace(etl.settings, var=base / "var", warehouse_url=None)
    monkeypatch.setattr(etl, "settings", cfg)
    src = datagen.generate(DS, n_rows=40, bad_fraction=0.0, seed=5, path=base / "f.csv").path
    cells: dict[int, dict[str, bytes]] = {}
    for row, column, value in garbage:  # keep CSV structure: no separators, quotes, newlines
        cells.setdefault(row, {})[column] = bytes(b for b in value if b not in b',"\r\n')
    path = poison(src, base / "fuzz.csv", cells)
    extracted = etl.extract(DS, landing=path)
    result = etl.transform(extracted.raw_path, DS)
    assert result.records_in == 40
    assert result.valid + result.quarantined == 40
    assert result.valid >= 40 - len(cells)
