"""Day-4 notebook helpers: parameter checks, demo landing files, summary merge."""

from __future__ import annotations

import dataclasses

import pytest
from opsbook import evidence
from opsbook.course import day4_versioning as versioning_nb
from opsbook.pipeline import customers, versioning

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kwargs,message", [
    ({"n_v1": 0}, "n_v1=0"),
    ({"n_v2": "10"}, "n_v2='10'"),
    ({"semilla": -1}, "semilla=-1"),
    ({"ruta_carga": "airflow"}, "ruta_carga='airflow': usa 'dag'"),
    ({"timeout_dag_s": 5}, "timeout_dag_s=5"),
])
def test_bad_parameters_say_what_to_change(kwargs, message):
    good = {"n_v1": 10, "n_v2": 5, "n_v3": 2, "semilla": 0, "ruta_carga": "directa",
            "timeout_dag_s": 60}
    versioning_nb.validate_params(**good)
    with pytest.raises(ValueError, match=message):
        versioning_nb.validate_params(**{**good, **kwargs})


def test_demo_landing_loads_good_files_and_quarantines_the_two_bad_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(customers, "settings",
                        dataclasses.replace(customers.settings, var=tmp_path, warehouse_url=None))
    folder = customers.landing_folder("2026-05-05")
    (folder / "sobrante.txt").parent.mkdir(parents=True)
    (folder / "sobrante.txt").write_text("de una ejecución anterior")
    paths = versioning_nb.write_demo_landing(folder, 12, 6, 3, seed=1)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)
    result = customers.load_customers("2026-05-05")
    assert result["records_by_version"] == {"v1": 12, "v2": 6, "v3": 3}
    assert sorted(result["quarantine"]) == ["clientes_v2_corrupto.jsonl",
                                            "clientes_v4_propuesta.avro"]


def test_write_summary_merged_keeps_the_other_authors_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSBOOK_EVIDENCE_DIR", str(tmp_path))
    evidence.write_summary(4, {"speedups": {"2": 1.8}, "versioning": {"keep": 1}})
    merged = versioning.write_summary_merged(4, {"schema_compatibility": {"v4 BACKWARD": False},
                                          "versioning": {"errors_after_upgrade": 0}})
    assert merged["speedups"] == {"2": 1.8}
    assert merged["versioning"] == {"keep": 1, "errors_after_upgrade": 0}
    assert merged["schema_compatibility"] == {"v4 BACKWARD": False}
    assert evidence.read_summary(4) == merged


def test_fields_table_lists_every_field_of_every_version():
    table = versioning_nb.fields_table()
    assert table.groupby("version").size().to_dict() == {"v1": 3, "v2": 5, "v3": 6}
    assert table.query("campo == 'updated_at'")["derivado_de"].eq("created_at").all()


def test_section_summary_and_answer_come_from_the_measured_results(tmp_path, monkeypatch):
    from opsbook.pipeline.avro_compat import check
    from opsbook.pipeline.schema_registry import registry

    monkeypatch.setenv("OPSBOOK_EVIDENCE_DIR", str(tmp_path))
    batches = versioning.legacy_mix({1: 7, 2: 4, 3: 2}, seed=3)
    walk = versioning.validate_upgrade_revalidate(batches)
    load = {"records_loaded": 13, "records_by_version": {"v1": 7, "v2": 4, "v3": 2},
            "files_quarantined": 2}
    summary = versioning_nb.write_section_summary(batches, walk, load, "directa",
                                                  versioning.mode_table())
    v = summary["versioning"]
    assert v["legacy_records"] == {"v1": 7, "v2": 4, "v3": 2} and v["upgraded_records"] == 13
    assert v["errors_before_upgrade"] == v["errors_after_upgrade"] == 0
    assert summary["schema_compatibility"]["v4 BACKWARD"] is v["v4_backward_compatible"] is False
    assert v["v4_rejection_reasons"] >= 1
    reg = registry()
    reasons = check("BACKWARD", reg.proposal(), [reg.get(3).schema]).incompatibilities
    text = versioning_nb.answer(summary, 1, reasons, {"BACKWARD": True, "FORWARD": False})
    assert "validado 13 registros legacy" in text and "(salida 1)" in text
    assert f"«{reasons[0].reason}»" in text
    assert "pasa BACKWARD\n   (sí) pero no FORWARD (no)" in text
    assert "7 registros v1" in text and "los 2 ficheros" in text
