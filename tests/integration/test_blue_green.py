"""Blue-green deploy under load: zero failed requests, and a broken green never gets traffic."""

from __future__ import annotations

import json

import pytest
from opsbook import deploy, service_configs, zero_downtime

pytestmark = [pytest.mark.stack, pytest.mark.slow]

RATE = 20.0


@pytest.fixture(scope="module")
def blue_serving(live_stack):
    deploy.ensure_blue(live_stack, echo=None)
    assert deploy.active_slot(live_stack) == "blue"
    yield live_stack
    res = deploy.ensure_blue(live_stack, echo=None)  # leave the default topology behind
    assert res["ok"], res.get("reason")


def test_failing_green_is_rolled_back_and_blue_keeps_serving(blue_serving, tmp_path):
    cfg = blue_serving
    # A release shipped with the wrong users file: it boots and reports healthy, but nobody
    # can log in, so its smoke test (step 4) fails and it must never get traffic.
    wrong = tmp_path / "passwords.json"
    wrong.write_text(json.dumps({"admin": "no-es-la-clave", "student": "tampoco"}))
    broken = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(wrong)}
    res = zero_downtime.deploy_under_load("v-rota", RATE, cfg, green_env=broken, echo=None)
    assert not res["ok"] and res["failed_step"] == 4, res["reason"]
    assert service_configs.front_door_port(cfg) == cfg.ports.airflow  # never switched
    assert deploy.active_slot(cfg) == "blue"
    assert "api-server-green" not in deploy._running(cfg)
    assert res["load"]["failed"] == 0, res["load"]
    log = (cfg.evidence_dir / "dia_4" / deploy.LOG_NAME).read_text()
    assert "FALLO" in log and "[rollback]" in log


def test_blue_green_deploy_under_load_loses_no_request(blue_serving):
    cfg = blue_serving
    res = zero_downtime.deploy_under_load("v2", RATE, cfg, echo=None)
    assert res["ok"], res["reason"]
    assert [s["step"] for s in res["steps"]] == [1, 2, 3, 4, 5, 6]
    assert deploy.active_slot(cfg) == "green"
    assert service_configs.front_door_port(cfg) == cfg.ports.airflow_green
    load = res["load"]
    assert load["requests"] >= RATE * 10 and load["achieved_rate"] >= RATE * 0.9
    assert load["failed"] == 0, load
