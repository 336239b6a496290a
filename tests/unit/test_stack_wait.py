"""``wait_healthy`` polls through ``wait_until``: returns when healthy, fails fast, times out."""

from __future__ import annotations

import pytest
from opsbook.settings import settings
from opsbook.stack.programs import Program
from opsbook.stack.state import StackError
from opsbook.stack.wait import wait_healthy

pytestmark = pytest.mark.unit

PROGS = [Program("scheduler", ["x"]), Program("extra", ["y"], optional=True)]


def _states(state="RUNNING"):
    return lambda: {"scheduler": {"statename": state}}


def test_returns_once_every_needed_program_is_healthy():
    answers = iter([{}, {"scheduler": False}, {"scheduler": True}])
    ok = wait_healthy(settings, PROGS, _states(), lambda cfg: next(answers), timeout_s=5,
                      progress=False)
    assert ok == {"scheduler": True}


def test_a_dead_program_fails_fast_with_its_log():
    with pytest.raises(StackError, match="terminó \\(EXITED\\)"):
        wait_healthy(settings, PROGS, _states("EXITED"), lambda cfg: {}, timeout_s=30,
                     progress=False)


def test_timeout_names_what_is_pending():
    with pytest.raises(StackError, match="pendientes: scheduler"):
        wait_healthy(settings, PROGS, _states(), lambda cfg: {}, timeout_s=0.2, progress=False)


def test_first_healthy_records_when_each_program_turned_healthy():
    progs = [Program("scheduler", ["x"]), Program("api-server", ["y"])]
    answers = iter([{"api-server": True}, {"api-server": True, "scheduler": True}])
    first: dict[str, float] = {}
    wait_healthy(settings, progs, lambda: {}, lambda cfg: next(answers), timeout_s=5,
                 progress=False, first_healthy=first)
    assert set(first) == {"scheduler", "api-server"}
    assert first["api-server"] < first["scheduler"]
