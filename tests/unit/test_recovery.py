"""Each recovery action of the runbook on its own: what it does, that it is idempotent, bounded.

Warehouse actions run against a real SQLite warehouse with real checkpoints; the restart
actions against real child processes behind a stand-in for supervisord's XML-RPC (start /
stop / pid of a program); the Airflow actions against a stand-in of the REST client that
records the calls (the real API is exercised live by tests/integration/test_drills.py).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time

import psutil
import pytest
from opsbook.incidents import diagnostics, recovery
from opsbook.pipeline import datagen, etl, warehouse

pytestmark = pytest.mark.unit

DS = "2026-03-25"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


# ---- warehouse actions ------------------------------------------------------------------
@pytest.fixture
def var(tmp_path, monkeypatch):
    cfg = dataclasses.replace(etl.settings, var=tmp_path / "var", warehouse_url=None)
    for module in (etl, warehouse, datagen):
        monkeypatch.setattr(module, "settings", cfg)
    return cfg


def _load(n_rows: int, tmp_path, seed: int) -> int:
    path = datagen.generate(DS, n_rows=n_rows, bad_fraction=0.0, seed=seed,
                            path=tmp_path / f"in_{seed}.csv").path
    staged = etl.transform(etl.extract(DS, landing=path).raw_path, DS)
    return etl.load(staged.staging_db, DS, forzar=True).rows_loaded


def test_restore_warehouse_puts_back_the_rows_before_the_last_load(var, tmp_path):
    _load(300, tmp_path, 1)
    _load(100, tmp_path, 2)
    wh = warehouse.open_warehouse()
    first = recovery.restore_warehouse({"ds": DS})
    again = recovery.restore_warehouse({"logical_date": f"{DS}T00:00:00+00:00"})
    assert first.ok and first.detail == {"fecha_logica": DS, "filas_restauradas": 300}
    assert again.detail == first.detail  # idempotent
    assert wh.count(ds=DS) == 300


def test_restore_warehouse_without_a_checkpoint_fails_with_the_reason(var):
    with pytest.raises(warehouse.WarehouseError, match="no hay punto de control"):
        recovery.restore_warehouse({"ds": DS})


def test_wait_for_warehouse_is_bounded_and_returns_once_writable(var):
    wh = warehouse.open_warehouse()
    assert wh.count() == 0  # creates the file, so the outage marker can sit next to it
    wh.set_reachable(False)
    started = time.monotonic()
    out = recovery.wait_for_warehouse({}, timeout_s=2.0)
    assert not out.ok and "bloqueado" in str(out.detail["ultimo_error"])
    assert time.monotonic() - started < 6.0
    wh.set_reachable(True)
    out = recovery.wait_for_warehouse({}, timeout_s=2.0)
    assert out.ok and out.detail["motor"] == "sqlite"


def test_await_data_fix_accepts_only_a_file_with_zero_bad_rows(var):
    datagen.generate(DS, n_rows=200, bad_fraction=0.2, seed=3)
    out = recovery.await_data_fix({"ds": DS}, timeout_s=1.0)
    assert not out.ok and out.detail["ultimo"]["filas_invalidas"] > 0
    datagen.generate(DS, n_rows=200, bad_fraction=0.0, seed=3)
    out = recovery.await_data_fix({"ds": DS}, timeout_s=5.0)
    assert out.ok and out.detail["filas"] == 200 and out.detail["filas_invalidas"] == 0


# ---- restart actions --------------------------------------------------------------------
class FakeSupervisor:
    """supervisord's program table, with real child processes."""

    def __init__(self, names):
        self.procs = {name: subprocess.Popen(SLEEPER) for name in names}
        self.starts = dict.fromkeys(names, 0)
        self.supervisor = self  # rpc(...).supervisor.startProcess(...)

    def pid(self, name):
        proc = self.procs.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def stop(self, name):
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)

    def startProcess(self, name, wait):  # noqa: N802 - supervisord's XML-RPC method name
        self.procs[name] = subprocess.Popen(SLEEPER)
        self.starts[name] += 1

    def kill(self, name):
        self.procs[name].kill()
        self.procs[name].wait(timeout=10)

    def close(self):
        for name in list(self.procs):
            self.stop(name)


@pytest.fixture
def sup(monkeypatch):
    from opsbook.stack import lifecycle, supervisor_conf

    fake = FakeSupervisor(["scheduler", "api-server", "statsd-bridge"])
    monkeypatch.setattr(lifecycle, "component_pid", fake.pid)
    monkeypatch.setattr(lifecycle, "stop_component", fake.stop)
    monkeypatch.setattr(supervisor_conf, "rpc", lambda cfg=None, timeout=10: fake)
    monkeypatch.setattr(recovery, "_reap_strays", lambda: [])
    yield fake
    fake.close()


def test_restart_scheduler_starts_a_dead_scheduler_and_records_when(sup):
    old = sup.pid("scheduler")
    sup.kill("scheduler")
    ctx: dict = {}
    out = recovery.restart_scheduler(ctx)
    assert out.ok and out.detail["pid_anterior"] is None
    new = out.detail["pid_nuevo"]
    assert new != old and psutil.pid_exists(new) and sup.starts["scheduler"] == 1
    assert ctx["restarted_at"] <= time.time()


def test_restart_scheduler_leaves_a_live_scheduler_alone(sup):
    pid = sup.pid("scheduler")
    ctx: dict = {}
    out = recovery.restart_scheduler(ctx)
    assert out.ok and out.detail["accion"].startswith("ninguna")
    assert sup.pid("scheduler") == pid and sup.starts["scheduler"] == 0
    assert "restarted_at" not in ctx


@pytest.mark.parametrize(("action", "name"), [("restart_api_server", "api-server"),
                                              ("restart_statsd_bridge", "statsd-bridge")])
def test_alive_is_not_enough_for_the_api_server_and_the_bridge(sup, action, name):
    old = sup.pid(name)
    out = recovery.ACTIONS[action]({})
    assert out.ok and out.detail["pid_anterior"] == old != out.detail["pid_nuevo"]
    assert not psutil.pid_exists(old) or psutil.Process(old).status() == "zombie"
    assert sup.starts[name] == 1


def test_a_component_that_never_comes_back_fails_within_the_bound(sup, monkeypatch):
    sup.kill("scheduler")
    monkeypatch.setattr(sup, "startProcess", lambda name, wait: None)  # supervisord refuses
    started = time.monotonic()
    out = recovery.restart_component("scheduler", {}, timeout_s=1.0)
    assert not out.ok and "no arrancó" in out.detail["error"]
    assert time.monotonic() - started < 5.0


# ---- Airflow actions --------------------------------------------------------------------
class FakeAirflow:
    """The few REST calls the actions make, recorded."""

    def __init__(self, runs, clear_error=None):
        self.runs = runs
        self.clear_error = clear_error
        self.cleared: list[str] = []
        self.triggered: list[dict] = []
        self.logical_dates: list = []

    def dag_runs(self, dag_id, limit=20):
        return self.runs

    def clear_task_instances(self, dag_id, run_id, dry_run, only_failed):
        assert dry_run is False and only_failed is True
        if self.clear_error:
            raise self.clear_error
        self.cleared.append(run_id)
        for run in self.runs:
            if run["dag_run_id"] == run_id:
                run["state"] = "queued"
        return [{"task_id": "load"}]

    def dag_run_state(self, dag_id, run_id):
        return next(r["state"] for r in self.runs if r["dag_run_id"] == run_id)

    def trigger_dag(self, dag_id, conf, logical_date=None):
        self.triggered.append(conf)
        self.logical_dates.append(logical_date)
        return "manual__nuevo"


@pytest.fixture
def airflow(monkeypatch):
    from opsbook.airflow import client

    def install(fake):
        for name in ("dag_runs", "clear_task_instances", "dag_run_state", "trigger_dag"):
            monkeypatch.setattr(client, name, getattr(fake, name))
        return fake
    return install


def test_clear_failed_tasks_clears_the_failed_run_and_hands_its_id_on(airflow):
    fake = airflow(FakeAirflow([{"dag_run_id": "r2", "state": "success"},
                                {"dag_run_id": "r1", "state": "failed"}]))
    ctx: dict = {}
    out = recovery.clear_failed_tasks(ctx)
    assert out.ok and out.detail["tareas_limpiadas"] == ["load"]
    assert fake.cleared == ["r1"] and ctx["run_id"] == "r1"


def test_clear_failed_tasks_without_failed_runs_does_nothing(airflow):
    fake = airflow(FakeAirflow([{"dag_run_id": "r1", "state": "success"}]))
    out = recovery.clear_failed_tasks({})
    assert out.ok and out.detail["accion"].startswith("ninguna") and fake.cleared == []


def test_a_500_on_clear_falls_back_to_a_new_run_with_the_same_conf(airflow):
    fake = airflow(FakeAirflow([{"dag_run_id": "r1", "state": "failed", "conf": {"n_rows": 9}}],
                               clear_error=RuntimeError("(500) Internal Server Error")))
    ctx: dict = {}
    out = recovery.clear_failed_tasks(ctx)
    assert out.ok and out.detail["run_id_nuevo"] == "manual__nuevo"
    assert fake.triggered == [{"n_rows": 9}] and ctx["run_id"] == "manual__nuevo"


def test_the_new_run_loads_the_failed_runs_date_even_after_midnight(airflow):
    """A run that failed at 23:59:58 UTC is re-run for its own date, not for the next day."""
    from datetime import UTC, datetime

    fake = airflow(FakeAirflow([{"dag_run_id": "r1", "state": "failed", "conf": {},
                                 "logical_date": None,
                                 "run_after": "2026-12-07T23:59:58.005600+00:00"}],
                               clear_error=RuntimeError("(500) Internal Server Error")))
    assert recovery.clear_failed_tasks({}).ok
    (when,) = fake.logical_dates
    assert when.date().isoformat() == "2026-12-07" and when.utcoffset() == UTC.utcoffset(None)
    assert when < datetime.now(UTC)
    assert diagnostics.run_date({"logical_date": when.isoformat()}) == "2026-12-07"


def test_other_clear_errors_are_not_hidden(airflow):
    airflow(FakeAirflow([{"dag_run_id": "r1", "state": "failed"}],
                        clear_error=RuntimeError("(403) Forbidden")))
    with pytest.raises(RuntimeError, match="403"):
        recovery.clear_failed_tasks({})


def test_every_action_named_in_the_catalog_is_tested_here():
    from opsbook.incidents.catalog import catalog

    named = {a for t in catalog().types.values() for a in t.recovery}
    tested = {"restore_warehouse", "wait_for_warehouse", "await_data_fix", "restart_scheduler",
              "restart_api_server", "restart_statsd_bridge", "clear_failed_tasks",
              "rerun_logical_date"}
    assert named <= tested and set(recovery.ACTIONS) <= tested


def test_rerun_logical_date_clears_the_whole_run(airflow, monkeypatch):
    from opsbook.airflow import client

    fake = airflow(FakeAirflow([{"dag_run_id": "r1", "state": "success"}]))
    calls = []

    def clear_dag_run(dag_id, run_id, only_failed=False, url=None):  # never a dry run
        calls.append((dag_id, run_id, only_failed))
        fake.runs[0]["state"] = "queued"

    monkeypatch.setattr(client, "clear_dag_run", clear_dag_run)
    ctx = {"run_id": "r1"}
    out = recovery.rerun_logical_date(ctx)
    assert out.ok and out.detail["accion"] == "relanzada"
    assert calls == [("pipeline_ventas", "r1", False)]


def test_rerun_logical_date_without_any_run_says_so(monkeypatch):
    from opsbook.incidents import diagnostics

    monkeypatch.setattr(diagnostics, "_latest_run_id", lambda dag_id: None)
    out = recovery.rerun_logical_date({})
    assert not out.ok and "no hay ejecución" in out.detail
