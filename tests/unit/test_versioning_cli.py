"""``opsbook schema`` exit codes and messages (the contract of issue 7)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opsbook.cli.main import main
from opsbook.pipeline.customer_files import legacy_records, read_customer_file, write_customer_file
from opsbook.pipeline.schema_registry import SCHEMA_DIR

pytestmark = pytest.mark.unit
V = {n: str(SCHEMA_DIR / f"clientes_v{n}.avsc") for n in (1, 2, 3)}
V4 = str(SCHEMA_DIR / "clientes_v4_propuesta.avsc")


@pytest.mark.parametrize("args,code,text", [
    (["--mode", "BACKWARD", V[3], V[2], V[1]], 0, "COMPATIBLE en modo BACKWARD"),
    (["--mode", "full_transitive", V[3], V[2], V[1]], 0, "comparado con: clientes_v2.avsc, "
                                                        "clientes_v1.avsc"),
    (["--mode", "BACKWARD", V4, V[3]], 1, "'full_name' del lector no existe"),
    (["--mode", "FORWARD", V4, V[3], V[2]], 1, "comparado con: clientes_v3.avsc)"),
    (["--mode", "NONE", V4, V[3]], 0, "COMPATIBLE"),
])
def test_check_exit_codes(capsys, args, code, text):
    assert main(["schema", "check", *args]) == code
    assert text in capsys.readouterr().out


def test_check_malformed_schema_is_exit_2_with_parse_error(tmp_path, capsys):
    bad = tmp_path / "roto.avsc"
    bad.write_text('{"type": "record", "name": "X"')
    assert main(["schema", "check", "--mode", "BACKWARD", str(bad), V[1]]) == 2
    assert "roto.avsc: JSON inválido en línea 1" in capsys.readouterr().err


def test_console_script_returns_the_exit_code():
    proc = subprocess.run([sys.executable, "-m", "opsbook.cli.main", "schema", "check", "--mode",
                           "BACKWARD", V4, V[3]], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "INCOMPATIBLE" in proc.stdout


def test_validate_and_upgrade_commands(tmp_path, capsys):
    src = write_customer_file(tmp_path / "in", legacy_records(8, 1), 1, "csv")
    assert main(["schema", "validate", str(src)]) == 0
    assert main(["schema", "upgrade", str(src), "--output", str(tmp_path / "out"),
                 "--format", "avro"]) == 0
    out = read_customer_file(tmp_path / "out" / "clientes_v3_lote.avro")
    assert out.version == 3 and len(out.records) == 8
    assert all(r["updated_at"] == r["created_at"] for r in out.records)
    bad = write_customer_file(tmp_path / "in", [{"id": 1, "name": 2, "created_at": "c"}], 1,
                              "jsonl", name="malo")
    assert main(["schema", "validate", str(bad)]) == 1
    assert main(["schema", "upgrade", str(bad), "--output", str(tmp_path / "out")]) == 1
    empty = tmp_path / "in" / "clientes_v1_vacio.csv"
    empty.write_bytes(b"")
    assert main(["schema", "validate", str(empty)]) == 2
    lossy = write_customer_file(tmp_path / "in", legacy_records(3, 3), 3, "jsonl", name="v3")
    assert main(["schema", "upgrade", str(lossy), "--to", "1",
                 "--output", str(tmp_path / "down")]) == 1
    assert "pérdida de datos" in capsys.readouterr().err
    assert main(["schema", "upgrade", str(lossy), "--to", "1", "--permitir-perdida",
                 "--output", str(tmp_path / "down")]) == 0
