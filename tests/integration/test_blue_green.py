"""Blue-green deploy in the default (LocalExecutor) mode: a broken green never gets traffic.

The day-4 notebook (run by nbval in ``make test``) deploys in Celery mode under ≥ 20 req/s:
the naive-restart baseline, a failing-green rollback with 0 failed requests and a good deploy
with 0 failed requests. It never deploys in the default mode, where a slot is the api-server
alone; this test covers that topology with the cheapest deploy that exercises steps 1–4 and
the rollback (no load, no switch: nothing to undo afterwards).
"""

from __future__ import annotations

import pytest
from opsbook.deploy import bluegreen as deploy
from opsbook.deploy import zero_downtime
from opsbook.stack import lifecycle as stack
from opsbook.stack import service_configs

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_failing_green_is_rolled_back_and_blue_keeps_serving(live_stack, tmp_path):
    cfg = live_stack
    assert stack.status(cfg)["mode"]["executor"] == "local"
    deploy.ensure_blue(cfg, echo=None)
    broken = zero_downtime.broken_release_env(tmp_path)  # boots healthy, nobody can log in
    res = deploy.deploy("v-rota", cfg, green_env=broken, echo=None)
    assert not res.ok and res.failed_step == 4, res.reason
    assert "401" in res.reason  # the smoke test could not even get a token
    assert [s["step"] for s in res.steps] == [1, 2, 3]
    assert service_configs.front_door_port(cfg) == cfg.ports.airflow  # never switched
    assert deploy.active_slot(cfg) == "blue"
    assert set(stack.status(cfg)["components"]) == {p.name for p in stack.plan(cfg, "local", 0)}
    log = (cfg.evidence_dir / "dia_4" / deploy.LOG_NAME).read_text()
    assert "FALLO" in log and "[rollback]" in log
