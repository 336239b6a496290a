"""Day-4 scaling/deploy helpers that need no service: parameters, tables, summary, answer."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from opsbook import evidence
from opsbook.course import day4
from opsbook.deploy import bluegreen, cpu_work, zero_downtime

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"espera_io_s": 1.0, "rondas_cpu": 4_500_000, "tasa_rps": 20.0, "espera_caida_s": 8.0,
        "espera_retiro_s": 5.0}

ROWS = [
    {"dag_id": "fanout_io", "workers": 1, "concurrency": 2, "slots": 2, "state": "success",
     "wall_s": 27.6, "task_s": 3.33, "speedup": 1.0},
    {"dag_id": "fanout_cpu", "workers": 1, "concurrency": 2, "slots": 2, "state": "success",
     "wall_s": 28.5, "task_s": 1.27, "speedup": 1.0, "cpu_s": 15.9, "cores_used": 0.56},
    {"dag_id": "fanout_io", "workers": 2, "concurrency": 2, "slots": 4, "state": "success",
     "wall_s": 12.7, "task_s": 3.24, "speedup": 2.17},
    {"dag_id": "fanout_cpu", "workers": 2, "concurrency": 2, "slots": 4, "state": "success",
     "wall_s": 14.6, "task_s": 1.38, "speedup": 1.96, "cpu_s": 15.9, "cores_used": 1.09},
    {"dag_id": "fanout_io", "workers": 1, "concurrency": 8, "slots": 8, "state": "success",
     "wall_s": 7.6, "task_s": 3.73, "speedup": 3.64},
    {"dag_id": "fanout_cpu", "workers": 1, "concurrency": 8, "slots": 8, "state": "success",
     "wall_s": 14.2, "task_s": 3.2, "speedup": 2.0, "cpu_s": 15.9, "cores_used": 1.12},
]
CAIDA = {"detect_s": 21.2, "retry_s": 23.2, "heartbeat_timeout_s": 20,
         "killed_tasks": ["espera_01", "espera_03"], "cleanup": {"orphans": [1, 2, 3]},
         "double_success": []}
COMPARACION = {"rate_rps": 20.0,
               "blue_green": {"requests": 762, "failed": 0, "p95_ms": 70.2},
               "naive_restart": {"requests": 352, "failed": 249, "longest_outage_s": 11.6}}


@pytest.mark.parametrize("name,value", [
    ("espera_io_s", 0.1), ("rondas_cpu", 4.5e6), ("rondas_cpu", 100), ("tasa_rps", 5),
    ("espera_caida_s", 2), ("espera_retiro_s", True),
])
def test_bad_parameters_name_the_parameter_to_change(name, value):
    day4.check_params(**GOOD)
    with pytest.raises(ValueError, match=f"parámetro {name}="):
        day4.check_params(**{**GOOD, name: value})


def test_zero_cpu_rounds_are_calibrated_to_one_cpu_second_here():
    day4.check_params(**{**GOOD, "rondas_cpu": 0})  # 0 = calibrate on this machine
    with pytest.raises(ValueError, match="entre 500 000 y 50 000 000, o 0"):
        day4.check_params(**{**GOOD, "rondas_cpu": 499_999})
    assert day4.cpu_rounds(3_000_000) == 3_000_000  # an explicit value is kept
    rounds = day4.cpu_rounds(0)
    assert cpu_work.MIN_ROUNDS <= rounds <= cpu_work.MAX_ROUNDS and rounds % 100_000 == 0
    started = time.process_time()
    cpu_work.chained_sha256(b"x", rounds)
    spent = time.process_time() - started
    assert 0.4 < spent / cpu_work.TASK_CPU_S < 2.5, f"{rounds} rondas costaron {spent:.2f} s de CPU"


def test_cpu_work_is_deterministic_and_checks_its_target():
    assert cpu_work.chained_sha256(b"a", 3) == cpu_work.chained_sha256(b"a", 3)
    assert cpu_work.chained_sha256(b"a", 0) == b"a"
    with pytest.raises(ValueError, match="cpu_s"):
        cpu_work.rounds_for(0)


def test_speedups_and_table_by_slots():
    assert day4.speedups(ROWS) == {"io": {2: 1.0, 4: 2.17, 8: 3.64},
                                   "cpu": {2: 1.0, 4: 1.96, 8: 2.0}}
    frame = day4.scale_frame(ROWS)
    assert list(frame.columns) == day4.SCALE_COLUMNS
    assert frame["cores_used"].isna().sum() == 3  # only the CPU-bound DAG reports CPU


def test_task_stretch_compares_the_mean_task_time_at_most_and_fewest_slots():
    assert day4.task_stretch(ROWS) == {"io": 1.12, "cpu": 2.52}
    assert day4.task_stretch(ROWS[:2]) == {"io": 1.0, "cpu": 1.0}


def test_mean_task_s_counts_only_the_task_instances_that_ran():
    from opsbook.deploy.scaling import mean_task_s

    tis = [{"start_date": "2026-12-06T10:00:00Z", "end_date": "2026-12-06T10:00:03.5Z"},
           {"start_date": "2026-12-06T10:00:01+00:00", "end_date": "2026-12-06T10:00:02.5+00:00"},
           {"start_date": None, "end_date": None}]  # never ran (upstream failed)
    assert mean_task_s(tis) == 2.5
    assert mean_task_s([]) == 0.0


def test_summary_uses_the_documented_keys_and_keeps_versioning(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSBOOK_EVIDENCE_DIR", str(tmp_path))
    evidence.write_summary(4, {"versioning": {"errors_after_upgrade": 0}})
    retiro = {"stop_s": 9.1, "tasks": {"espera_01": {"state": "success", "try_number": 1}}}
    rota = zero_downtime.DeployUnderLoad(
        bluegreen.DeployResult(ok=False, release="v2-rota", failed_step=4), {"failed": 0}, None)
    bundles = [{"bundle": b, "run": r, "inicio": "v1", "fin": "v1" if b == "releases" else "v2"}
               for b in ("releases", "plain") for r in ("A", "B")]
    out = day4.write_summary(ROWS, retiro, CAIDA, COMPARACION, rota, bundles)
    assert out["versioning"] == {"errors_after_upgrade": 0}
    assert out["escalado"]["speedup_io_1x8"] == 3.64 and out["escalado"]["speedup_cpu_2x2"] == 1.96
    assert out["despliegue"]["blue_green_failed"] == 0
    assert out["despliegue"]["naive_restart_failed"] == 249
    assert out["bundles"] == {"git_run_a": "v1->v1", "plain_run_a": "v1->v2"}
    assert out["retiro_en_caliente"]["tasks_finished_try_1"] == 1


def test_answer_quotes_the_measured_figures():
    text = day4.answer(ROWS, CAIDA, COMPARACION)
    assert "**3.6×**" in text and "**2.0×**" in text and "**0** de 762" in text
    assert "**249** de 352" in text and "23 s después" in text


def test_broken_release_ships_a_valid_users_file_with_the_wrong_passwords(tmp_path):
    from opsbook.settings import settings

    env = zero_downtime.broken_release_env(tmp_path / "rota")
    users = json.loads(Path(env[zero_downtime.PASSWORDS_VAR]).read_text())
    assert set(users) == {"admin", "student"}  # it exists and parses: the server boots
    assert users["admin"] != settings.secrets["password_admin"]  # nobody can log in
    assert users["student"] != settings.secrets["password_student"]


def test_deploy_wrapper_is_a_thin_executable_shell_over_opsbook_deploy():
    script = ROOT / "notebooks" / "dia_4_escalado" / "deploy-zero-downtime.sh"
    assert script.stat().st_mode & 0o111, "el script debe ser ejecutable"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    usage = subprocess.run([str(script)], capture_output=True, text=True)
    assert usage.returncode == 2 and "uso:" in usage.stderr
    assert 'opsbook" deploy "$@"' in script.read_text()
