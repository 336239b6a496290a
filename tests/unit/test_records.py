"""Typed results become JSON in one place, with the evidence keys they always had."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opsbook import evidence, records
from opsbook.incidents import drills
from opsbook.incidents.drill_kit import DrillResult

pytestmark = pytest.mark.unit


@dataclass
class Inner:
    when: datetime
    where: Path


@dataclass
class Outer:
    name: str
    inner: Inner
    tags: set[str] = field(default_factory=set)
    missing: float | None = None
    ratio: float = math.nan


def test_to_json_converts_nested_dataclasses_datetimes_paths_sets_and_nan():
    obj = Outer("x", Inner(datetime(2026, 1, 2, 3, 4, tzinfo=UTC), Path("/tmp/a")), {"b", "a"})
    assert records.to_json(obj) == {
        "name": "x", "inner": {"when": "2026-01-02T03:04:00+00:00", "where": "/tmp/a"},
        "tags": ["a", "b"], "missing": None, "ratio": None}
    assert "missing" not in records.to_json(obj, omit_none=True)
    assert json.loads(records.dumps([obj]))[0]["name"] == "x"


def drill_result(**extra):
    t0 = 1_700_000_000.0
    timeline = [{"t": t0 + 5, "ts": "x" * 23, "phase": "detect", "step": "alerta", "ok": True,
                 "duration_s": None, "detail": None},
                {"t": t0 + 20, "ts": "x" * 23, "phase": "recover", "step": "reinicio",
                 "ok": True, "duration_s": 3.0, "detail": None}]
    incident = {"id": "inc-1", "type": "pipeline_down", "status": "recovered", "started_at": t0,
                "timeline": timeline}
    return DrillResult(name="pipeline_down", ok=True, still_broken=[], runs=[],
                       events=[{"t": t0, "ts": "x" * 23, "phase": "drill", "step": "kill -9",
                                "ok": True, "duration_s": None, "detail": None}],
                       fault_at=t0, rows_expected=10, rows_loaded=10, incident=incident,
                       impact={"mttd_s": 5.0, "mtta_s": 6.0, "mttr_s": 23.0, "rows_lost": 0},
                       mttr_s=23.0, postmortem="# post-mortem inc-1", **extra)


def test_drill_evidence_keeps_its_keys_and_leaves_unfilled_fields_out(tmp_path, monkeypatch):
    monkeypatch.setattr(evidence, "day_dir", lambda day: tmp_path)
    paths = drills.save_evidence(drill_result())
    saved = json.loads(Path(paths["timeline"]).read_text())
    assert set(saved) == {"name", "ok", "still_broken", "events", "runs", "rows_expected",
                          "rows_loaded", "fault_at", "incident", "impact", "mttr_s"}
    assert Path(paths["post_mortem"]).read_text() == "# post-mortem inc-1"


def test_deploy_result_keeps_its_from_and_to_keys():
    from opsbook.deploy.bluegreen import DeployResult

    out = records.to_json(DeployResult(ok=False, release="v2", from_slot="blue", to_slot="green",
                                       failed_step=4, reason="401"))
    assert (out["from"], out["to"], out["failed_step"]) == ("blue", "green", 4)
    assert "from_slot" not in out and "to_slot" not in out


def test_pipeline_runs_are_typed_and_tabulated():
    from opsbook.course import day2

    run = day2.PipelineRun(name="limpia", run_id="manual__1", state="success", ended_at=1.0,
                           queued_at=0.5,
                           seconds=42.0, deltas={"airflow_pipeline_load_records_loaded": 500},
                           after={"airflow_pipeline_transform_quality": 1.0})
    row = day2.runs_frame([run]).iloc[0]
    assert (row["escenario"], row["estado"], row["cargados"], row["calidad"]) == (
        "limpia", "success", 500, 1.0)
    assert records.to_json(run)["deltas"] == {"airflow_pipeline_load_records_loaded": 500}


def test_write_atomic_readers_see_the_old_file_or_the_new_one_never_half(tmp_path):
    """A reader polling while another thread rewrites a big summary never reads a torn file."""
    import threading

    path = tmp_path / "resumen.json"
    versions = [json.dumps({"v": i, "relleno": "x" * 200_000}) for i in range(2)]
    records.write_atomic(path, versions[0])
    torn: list[int] = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            text = path.read_text()
            if text not in versions:
                torn.append(len(text))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(200):
        records.write_atomic(path, versions[i % 2])
    done.set()
    thread.join()
    assert torn == []
    assert json.loads(path.read_text())["v"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["resumen.json"]  # no temporary left


def test_write_atomic_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "resumen.json"
    records.write_atomic(path, '{"v": 0}')

    def full_disk(self, data):
        Path.write_text(self, "{\"v\": 1, \"cort")  # half written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError):
        records.write_atomic(path, '{"v": 1, "cortado": false}')
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"v": 0}
    assert [p.name for p in tmp_path.iterdir()] == ["resumen.json"]


def test_evidence_files_are_swapped_in_whole(tmp_path, monkeypatch):
    """Every evidence writer goes through write_atomic (day 5 may read day 4 as it is rewritten)."""
    import pandas as pd

    monkeypatch.setenv("OPSBOOK_EVIDENCE_DIR", str(tmp_path))
    monkeypatch.setattr(evidence, "settings", type(evidence.settings).from_env())
    written: list[str] = []
    real = records.write_atomic
    monkeypatch.setattr(records, "write_atomic",
                        lambda path, data: written.append(Path(path).name) or real(path, data))
    evidence.write_summary(4, {"x": 1})
    evidence.save_frame(4, "tabla", pd.DataFrame({"a": [1]}))
    evidence.save_text(4, "nota.md", "hola")
    assert written == ["resumen.json", "manifest.json", "tabla.csv", "manifest.json",
                       "nota.md", "manifest.json"]
    assert evidence.read_summary(4)["x"] == 1
