"""Blue-green deploy in the default (LocalExecutor) mode: a broken green never gets traffic.

The day-4 notebook (run by nbval in ``make test``) deploys in Celery mode under ≥ 20 req/s:
the naive-restart baseline, a failing-green rollback with 0 failed requests and a good deploy
with 0 failed requests. It never deploys in the default mode, where a slot is the api-server
alone; this test covers that topology with the cheapest deploy that exercises steps 1–4 and
the rollback (no load, no switch: nothing to undo afterwards).
"""

from __future__ import annotations

import psutil
import pytest
from opsbook.deploy import bluegreen as deploy
from opsbook.deploy import zero_downtime
from opsbook.stack import lifecycle as stack
from opsbook.stack import service_configs, supervisor_conf
from procmem import shared_dirty_mib

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_failing_green_is_rolled_back_and_blue_keeps_serving(live_stack, tmp_path):
    cfg = live_stack
    assert stack.status(cfg)["mode"]["executor"] == "local"
    deploy.ensure_blue(cfg, echo=None)
    broken = zero_downtime.broken_release_env(tmp_path)  # boots healthy, nobody can log in
    green = []  # while its smoke test runs: the green api-server is a fork of supervisord too

    def at_step(number: int, name: str) -> None:
        if number == 4:
            pid = stack.component_pid("api-server-green", cfg)
            proc = psutil.Process(pid)
            green.append((pid, proc.ppid(), shared_dirty_mib(pid), proc.nice()))

    res = deploy.deploy("v-rota", cfg, green_env=broken, echo=None, on_step=at_step)
    assert not res.ok and res.failed_step == 4, res.reason
    ((pid, parent, shared, niceness),) = green
    assert parent == supervisor_conf.supervisord_pid(cfg) and shared > 20, green
    assert niceness == deploy.NEW_SLOT_NICE  # booting behind the serving slot, as with `nice`
    assert "401" in res.reason  # the smoke test could not even get a token
    assert [s["step"] for s in res.steps] == [1, 2, 3]
    assert service_configs.front_door_port(cfg) == cfg.ports.airflow  # never switched
    assert deploy.active_slot(cfg) == "blue"
    assert set(stack.status(cfg)["components"]) == {p.name for p in stack.plan(cfg, "local", 0)}
    log = (cfg.evidence_dir / "dia_4" / deploy.LOG_NAME).read_text()
    assert "FALLO" in log and "[rollback]" in log
