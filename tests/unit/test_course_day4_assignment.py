"""Day-4 assignment checks (schema verdicts, speed-up, load recount) without a stack."""

from __future__ import annotations

import copy
import dataclasses
import subprocess

import pytest
from opsbook.course import day4_assignment as d4
from opsbook.deploy import shipping
from opsbook.deploy.loadgen import LoadReport, Sample
from opsbook.pipeline.schema_registry import registry

pytestmark = pytest.mark.unit


@pytest.fixture
def evidence_in_tmp(tmp_path, monkeypatch):
    from opsbook import evidence

    monkeypatch.setattr(evidence, "day_dir", lambda day: tmp_path / f"dia_{day}")
    return tmp_path


def v3_plus(field: dict) -> dict:
    raw = copy.deepcopy(registry().get(3).schema.raw)
    raw["fields"].append(field)
    return raw


def v3_without(name: str) -> dict:
    raw = copy.deepcopy(registry().get(3).schema.raw)
    raw["fields"] = [f for f in raw["fields"] if f["name"] != name]
    return raw


OPTIONAL = {"name": "segmento", "type": ["null", "string"], "default": None}
REQUIRED = {"name": "segmento", "type": "string"}


# ---- exercise 1 ------------------------------------------------------------------------------
def test_checker_verdicts_follow_avro_resolution():
    assert d4.actual_verdicts(v3_plus(OPTIONAL)) == {"BACKWARD": True, "FORWARD": True,
                                                     "FULL": True}
    # a required new field: a v4 reader cannot read v3 data, v3 readers ignore it
    assert d4.actual_verdicts(v3_plus(REQUIRED)) == {"BACKWARD": False, "FORWARD": True,
                                                     "FULL": False}
    # dropping a required field: v3 readers cannot read v4 data
    assert d4.actual_verdicts(v3_without("name")) == {"BACKWARD": True, "FORWARD": False,
                                                      "FULL": False}


def test_prediction_problems_name_each_wrong_mode():
    actual = {"BACKWARD": True, "FORWARD": False, "FULL": False}
    assert d4.prediction_problems(dict(actual), actual) == []
    wrong = d4.prediction_problems({"BACKWARD": True, "FORWARD": True, "FULL": False}, actual)
    assert wrong == ["FORWARD: predijiste compatible y el comprobador dice incompatible"]
    missing = d4.prediction_problems({"backward": True}, {"BACKWARD": True})
    assert missing == ["falta la predicción del modo FORWARD", "falta la predicción del modo FULL"]
    assert any("True o False" in p for p in
               d4.prediction_problems({"BACKWARD": "sí", "FORWARD": False, "FULL": False},
                                      actual))
    assert "modo desconocido: TOTAL" in d4.prediction_problems({**actual, "TOTAL": True}, actual)


def test_schema_problems_runs_the_real_cli_and_rejects_v3_itself(evidence_in_tmp):
    right = {"BACKWARD": False, "FORWARD": True, "FULL": False, "FULL_TRANSITIVE": False}
    assert d4.schema_problems(v3_plus(REQUIRED), right, "ana") == []
    saved = evidence_in_tmp / "dia_4" / "alumnos" / "ana" / "clientes_v4.avsc"
    assert '"segmento"' in saved.read_text()
    same = d4.schema_problems(registry().get(3).schema.raw,
                              {"BACKWARD": True, "FORWARD": True, "FULL": True}, "ana")
    assert same == ["tu v4 es igual que v3: no cambia nada"]
    broken = d4.schema_problems({"type": "record", "fields": "x"}, right, "ana")
    assert len(broken) == 1 and "inválido" in broken[0]


def test_schema_problems_reports_a_cli_that_disagrees(evidence_in_tmp):
    def lying_cli(*args):
        return subprocess.CompletedProcess(args, 1, "", "")  # "incompatible" for every mode

    problems = d4.schema_problems(v3_plus(OPTIONAL), {"BACKWARD": True, "FORWARD": True,
                                                      "FULL": True}, "ana", cli=lying_cli)
    assert len(problems) == 3 and all("salió con 1" in p for p in problems)


# ---- exercise 2 ------------------------------------------------------------------------------
def test_speedups_from_durations_divide_the_baseline_by_each_run():
    sp = d4.speedups_from_durations({("io", 2): 60.0, ("io", 4): 30.0, ("io", 8): 20.0,
                                     ("cpu", 2): 40.0, ("cpu", 8): 50.0})
    assert sp == {"io": {2: 1.0, 4: 2.0, 8: 3.0}, "cpu": {2: 1.0, 8: 0.8}}
    with pytest.raises(ValueError, match="referencia"):
        d4.speedups_from_durations({("io", 4): 30.0})
    with pytest.raises(ValueError, match="no positiva"):
        d4.speedups_from_durations({("io", 2): 30.0, ("io", 4): 0.0})


def test_speedup_problems_allow_the_tolerance_and_no_more():
    expected = {"io": {2: 1.0, 8: 3.0}}
    assert d4.speedup_problems({"io": {2: 1.0, 8: 3.1}}, expected) == []
    assert d4.speedup_problems({"io": {2: 1.0, 8: 3.3}}, expected) == [
        "io con 8 ranuras: 3.30× y Airflow da 3.00×"]
    assert d4.speedup_problems({}, expected) == ["falta la aceleración de io"]
    assert d4.speedup_problems({"io": {2: 1.0, 8: True}}, expected) == [
        "io con 8 ranuras: falta la aceleración"]


def run(run_id: str, queued: str, end: str, alumno: str = "ana", state: str = "success") -> dict:
    return {"dag_run_id": run_id, "queued_at": queued, "end_date": end, "state": state,
            "conf": {"alumno": alumno}}


def test_recomputed_speedups_read_each_run_and_reject_runs_of_others():
    runs = {("io", "a"): run("a", "2026-01-01T10:00:00Z", "2026-01-01T10:01:00Z"),
            ("io", "b"): run("b", "2026-01-01T10:02:00Z", "2026-01-01T10:02:20Z"),
            ("io", "c"): run("c", "2026-01-01T10:03:00Z", "2026-01-01T10:03:15Z", "luis")}
    rows = [{"dag_id": "io", "run_id": r, "slots": s} for r, s in (("a", 2), ("b", 4))]
    sp, problems = d4.recomputed_speedups(rows, "ana", fetch=lambda d, r: runs[d, r])
    assert sp == {"io": {2: 1.0, 4: 3.0}} and problems == []
    rows.append({"dag_id": "io", "run_id": "c", "slots": 8})
    sp, problems = d4.recomputed_speedups(rows, "ana", fetch=lambda d, r: runs[d, r])
    assert sp["io"][8] == 4.0
    assert problems == ["io/c no es una ejecución tuya (conf sin alumno='ana')"]


def test_run_problems_flag_an_unfinished_run():
    assert d4.run_problems(run("a", "x", "y", state="failed"), "ana") == [
        "None/a terminó en 'failed'"]


# ---- exercise 3 ------------------------------------------------------------------------------
def report(failures: int = 0, rate: float = 20.0, gap: tuple[float, float] | None = None
           ) -> LoadReport:
    samples = []
    for i in range(int(30 * rate)):
        t = i / rate
        if gap and gap[0] <= t < gap[1]:
            continue
        bad = i < failures
        samples.append(Sample(t, "/api/v2/monitor/health", 502 if bad else 200, 0.05, ok=True))
    return LoadReport(rate, 2.0, 0.0, samples,
                      [(1.0, "paso 1"), (20.0, "paso 5"), (27.0, "fin")])


def test_load_problems_recount_failures_from_the_raw_samples():
    assert d4.load_problems(report(), 20) == []
    # the samples claim ok=True, but a 502 is a failure whatever the summary said
    assert d4.load_problems(report(failures=3), 20) == ["3 de 600 peticiones fallaron"]
    slow = report()
    slow.samples[5] = dataclasses.replace(slow.samples[5], latency_s=2.5)
    assert d4.failed_samples(slow) == [slow.samples[5]]


def test_load_problems_need_load_during_the_whole_deploy():
    problems = d4.load_problems(report(gap=(2.0, 20.0)), 20)
    assert len(problems) == 1 and "peticiones en los 26 s" in problems[0]
    unmarked = report()
    unmarked.marks = [(1.0, "paso 1")]
    assert d4.load_problems(unmarked, 20) == ["el registro de carga no marca «paso 5»",
                                              "el registro de carga no marca «fin»"]


def test_served_problems_need_the_students_version_and_fields():
    v1, v3 = ["id", "name"], ["id", "name", "phone"]
    served = {"version": "v2-ana", "campos": v3}
    assert d4.served_problems(served, "v2-ana", v3, v1) == []
    assert d4.served_problems({**served, "version": "v1"}, "v2-ana", v3, v1) == [
        "la puerta de entrada sirve 'v1', no 'v2-ana'"]
    assert "no cambia su comportamiento" in d4.served_problems(
        {"version": "v2-ana", "campos": v1}, "v2-ana", v1, v1)[0]


def test_release_label_and_register(monkeypatch):
    monkeypatch.setattr(shipping, "RELEASES", dict(shipping.RELEASES))
    assert d4.release_label("ana") == "v2-ana"
    with pytest.raises(ValueError):
        d4.release_label("Ana López")
    mine = shipping.register(shipping.AppRelease("v2-ana", "v3"))
    assert shipping.release_for("v2-ana") == mine
    assert shipping.register(shipping.AppRelease("v2-ana", "v3")) == mine  # same: accepted
    with pytest.raises(ValueError, match="ya existe"):
        shipping.register(shipping.AppRelease("v2-ana", "v2"))
    with pytest.raises(ValueError, match="desconocido"):
        shipping.register(shipping.AppRelease("v2-luis", "v9"))
