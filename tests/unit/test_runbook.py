"""The runbook engine against real local processes (a sleeping child plays the scheduler).

The checks and actions injected here act on real processes: ``kill -9`` really kills the
child, the restart really starts a new one, the hung check really hangs. Only the stack
itself is replaced by that child, so the engine can be tested without Airflow.
"""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from opsbook.incidents import runbook
from opsbook.incidents.runbook import Outcome, Runbook
from opsbook.incidents.timeline import IncidentStore
from opsbook.observability import alert_receiver
from opsbook.waiting import WaitTimeout, wait_until

pytestmark = pytest.mark.unit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


class Service:
    """A real child process standing in for a supervised component."""

    def __init__(self, command=SLEEPER):
        self.command = command
        self.proc = subprocess.Popen(command)
        self.starts = 1

    def alive(self, ctx):
        return Outcome(self.proc.poll() is None, {"pid": self.proc.pid})

    def stable(self, ctx):
        """Verification: alive and still alive one second later (a crash loop fails it)."""
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return Outcome(True, {"pid": self.proc.pid})
        return Outcome(False, {"exit": self.proc.returncode})

    def start(self, ctx):
        if self.proc.poll() is None:
            return Outcome(True, "ya vivo")
        self.proc = subprocess.Popen(self.command)
        self.starts += 1
        return Outcome(True, {"pid_nuevo": self.proc.pid})

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def service():
    svc = Service()
    yield svc
    svc.stop()


def wait_started(svc, timeout_s=10.0):
    try:
        return wait_until(lambda: svc.proc.poll() is None
                          and psutil.Process(svc.proc.pid).status() != "zombie",
                          timeout_s, 0.05, "el servicio de prueba arranque")
    except WaitTimeout:
        return False


def engine(tmp_path, svc, **kw):
    ok = lambda ctx: Outcome(True, "ok")  # noqa: E731 - checks irrelevant to the scenario
    checks = {"scheduler_process": svc.alive, "stack_healthy": svc.stable,
              "airflow_health": ok, "metadata_db": ok, "process_resources": ok,
              "import_errors": lambda ctx: Outcome(False, ["dags/ciclo.py: cycle detected"])}
    actions = {"restart_scheduler": svc.start}
    return Runbook(checks, actions, IncidentStore(tmp_path), **kw)


def note(status, fingerprint="fp-1", incident_type="pipeline_down",
         alertname="AirflowSchedulerDown"):
    return {"status": status, "alerts": [{
        "status": status, "fingerprint": fingerprint,
        "labels": {"alertname": alertname, "severity": "critical",
                   "incident_type": incident_type},
        "annotations": {"summary": "scheduler sin heartbeat"},
        "startsAt": "2026-11-26T10:00:00.123456789Z",
        "endsAt": "2026-11-26T10:01:00Z" if status == "resolved" else "0001-01-01T00:00:00Z"}]}


def test_killed_process_is_restarted_and_every_step_is_timestamped(tmp_path, service):
    rb = engine(tmp_path, service)
    old_pid = service.proc.pid
    service.kill9()
    assert not service.alive({}).ok

    ids = rb.handle(note("firing"), background=False)

    assert len(ids) == 1
    assert wait_started(service) and service.proc.pid != old_pid
    incident = rb.store.load(ids[0])
    assert incident.status == "recovered" and incident.recovered_at is not None
    phases = [e["phase"] for e in incident.timeline]
    assert phases[0] == "detect" and phases[-1] == "verify"
    assert phases.index("diagnose") < phases.index("recover") < phases.index("verify")
    assert incident.diagnosis["scheduler_process"]["ok"] is False
    times = [e["t"] for e in incident.timeline]
    assert times == sorted(times)
    assert incident.severity == "SEV-1" and incident.category == "connectivity"
    assert incident.durations()["mttr_s"] is not None


def test_duplicates_are_noted_resolved_closes_and_a_new_firing_opens_again(tmp_path, service):
    rb = engine(tmp_path, service)
    service.kill9()
    first = rb.handle(note("firing"), background=False)
    assert rb.handle(note("firing"), background=False) == []  # same fingerprint: dedupe
    assert service.starts == 2  # the duplicate did not restart anything
    incident = rb.store.load(first[0])
    assert any("duplicada" in e["step"] for e in incident.timeline)

    assert rb.handle(note("resolved"), background=False) == first
    closed = rb.store.load(first[0])
    assert closed.resolved_at is not None and closed.timeline[-1]["phase"] == "close"

    again = rb.handle(note("firing"), background=False)
    assert again and again != first
    assert len(rb.store.all()) == 2


def test_failed_recovery_escalates_once_with_the_diagnosis(tmp_path):
    broken = Service([sys.executable, "-c", "raise SystemExit(3)"])  # dies right away
    broken.proc.wait(timeout=10)
    rb = engine(tmp_path, broken)
    ids = rb.handle(note("firing"), background=False)
    incident = rb.store.load(ids[0])
    assert incident.status == "escalated"
    assert broken.starts == 2  # the single action ran exactly once: no retry loop
    pages = rb.store.pages()
    assert len(pages) == 1 and pages[0]["severity"] == "SEV-1"
    assert pages[0]["canal"] == "page" and "scheduler_process" in pages[0]["diagnosis"]
    assert incident.timeline[-1]["phase"] == "escalate"


def test_hung_check_is_cut_by_the_step_timeout(tmp_path, service):
    rb = engine(tmp_path, service, step_timeout_s=2.0)
    rb.checks["metadata_db"] = lambda ctx: Outcome(subprocess.run(["sleep", "20"]).returncode == 0)
    service.kill9()
    start = time.monotonic()
    ids = rb.handle(note("firing"), background=False)
    assert time.monotonic() - start < 12.0
    incident = rb.store.load(ids[0])
    assert "timeout" in str(incident.diagnosis["metadata_db"]["detail"])
    assert incident.status == "recovered"


def test_total_deadline_skips_recovery_and_escalates(tmp_path, service):
    rb = engine(tmp_path, service, deadline_s=0.0)
    service.kill9()
    incident = rb.store.load(rb.handle(note("firing"), background=False)[0])
    assert incident.status == "escalated"
    assert service.starts == 1
    assert any("plazo total" in str(e["detail"]) for e in incident.timeline)


def test_manual_only_type_is_diagnosed_and_escalated(tmp_path, service):
    rb = engine(tmp_path, service)
    ids = rb.handle(note("firing", "fp-2", "circular_dependency"), background=False)
    incident = rb.store.load(ids[0])
    assert incident.type == "circular_dependency" and incident.status == "escalated"
    assert "cycle" in str(incident.diagnosis["import_errors"]["detail"])
    assert rb.store.pages()[0]["severity"] == "SEV-2"


def test_unknown_alert_opens_nothing_and_a_missing_step_is_recorded(tmp_path, service):
    rb = engine(tmp_path, service)
    assert rb.handle(note("firing", "fp-3", "otra_cosa", "OtraAlerta"), background=False) == []
    del rb.checks["metadata_db"]
    service.kill9()
    incident = rb.store.load(rb.handle(note("firing"), background=False)[0])
    assert "no implementado" in incident.diagnosis["metadata_db"]["detail"]


def test_background_response_and_automation_switch(tmp_path, service, monkeypatch):
    flag = tmp_path / "run" / "automation_off"
    monkeypatch.setattr(runbook, "automation_flag", lambda: flag)
    monkeypatch.setattr(runbook, "_DEFAULT", engine(tmp_path / "store", service))
    assert runbook.set_automation(False) is False
    service.kill9()
    assert runbook.on_notification(note("firing")) == []
    assert runbook.set_automation(True) is True
    ids = runbook.on_notification(note("firing"))
    store = IncidentStore(tmp_path / "store")
    wait_until(lambda: store.load(ids[0]).finished, 20, 0.05, "el incidente termine")
    assert store.load(ids[0]).status == "recovered"


def test_a_paused_runbook_opens_nothing_but_still_closes_what_resolves(tmp_path, service,
                                                                      monkeypatch):
    flag = tmp_path / "run" / "automation_off"
    monkeypatch.setattr(runbook, "automation_flag", lambda: flag)
    monkeypatch.setattr(runbook, "_DEFAULT", engine(tmp_path / "store", service))
    store = IncidentStore(tmp_path / "store")
    (opened,) = runbook.on_notification(note("firing"))
    wait_until(lambda: store.load(opened).finished, 20, 0.05, "el incidente termine")
    assert runbook.set_automation(False) is False  # e.g. `stack up` switching executors
    assert runbook.on_notification(note("firing", "fp-otra")) == []  # nothing new opens
    assert runbook.on_notification(note("resolved", "fp-otra")) == []  # nothing to close
    assert store.load(opened).resolved_at is None
    # the live path: the receiver hands the "resolved" over although the switch is off
    monkeypatch.setattr(alert_receiver, "automation_off_flag", lambda: flag)
    closing: list[list[str]] = []
    thread = alert_receiver.dispatch(note("resolved"), lambda n: closing.append(
        runbook.on_notification(n)))
    assert thread is not None
    thread.join(20)
    assert closing == [[opened]]
    closed = store.load(opened)
    assert closed.resolved_at is not None and closed.timeline[-1]["phase"] == "close"
    assert [i.id for i in store.all() if i.resolved_at is None] == []


def test_warning_and_critical_of_the_same_type_make_one_incident(tmp_path):
    # a slow real action keeps the first incident in "recovering" while the second alert arrives
    svc = Service()
    rb = engine(tmp_path, svc)
    rb.actions["restart_scheduler"] = lambda ctx: Outcome(
        subprocess.run([sys.executable, "-c", "import time; time.sleep(2)"]).returncode == 0)
    svc.kill9()
    first = rb.handle(note("firing", "fp-warn"), background=True)
    second = rb.handle(note("firing", "fp-crit", alertname="AirflowSchedulerDownCritical"),
                       background=False)
    assert len(first) == 1 and second == []
    incident = rb.store.load(first[0])
    assert any("correlacionada" in e["step"] for e in incident.timeline)
    svc.stop()


def test_trigger_firing_after_a_finished_response_opens_a_new_incident(tmp_path, service):
    """A sibling that outlives its response does not swallow the next fault's trigger."""
    rb = engine(tmp_path, service)
    service.kill9()
    sibling = rb.handle(note("firing", "fp-crit", alertname="AirflowSchedulerDownCritical"),
                        background=False)
    first = rb.store.load(sibling[0])
    assert first.finished and first.status == "recovered" and first.resolved_at is None
    service.kill9()  # a new fault while the sibling alert still fires
    trigger = rb.handle(note("firing", "fp-warn"), background=False)
    assert trigger and trigger != sibling
    assert rb.store.load(trigger[0]).status == "recovered" and service.starts == 3
    # a non-trigger alert of the type still joins the open episode instead
    assert rb.handle(note("firing", "fp-other", alertname="OtraCritica"), background=False) == []


def test_unrepaired_warning_escalated_to_critical_pages_a_human_in_the_same_incident(
        tmp_path, service):
    rb = engine(tmp_path, service)
    ids = rb.handle(note("firing", "fp-warn", "circular_dependency", "AirflowDagImportErrors"),
                    background=False)
    human = note("firing", "fp-crit", "circular_dependency", "AirflowDagImportErrorsUnrepaired")
    human["receiver"] = "human-pager"
    human["alerts"][0]["labels"]["escalate"] = "human"
    assert rb.handle(human, background=False) == ids  # no second incident, the page is noted
    incident = rb.store.load(ids[0])
    escalations = [e for e in incident.timeline if e["phase"] == "escalate"]
    assert len(escalations) == 2  # the runbook's own (no automatic repair), then the human page
    assert "human-pager" in escalations[-1]["step"]
    assert escalations[-1]["detail"]["alertname"] == "AirflowDagImportErrorsUnrepaired"
    pages = rb.store.pages()
    assert [p.get("canal") for p in pages] == ["page", "page-humano"]
    assert pages[-1]["incident_id"] == ids[0]


def test_a_critical_without_escalate_label_pages_nobody_extra(tmp_path, service):
    rb = engine(tmp_path, service)
    rb.handle(note("firing", "fp-warn", "circular_dependency", "AirflowDagImportErrors"),
              background=False)
    rb.handle(note("firing", "fp-crit", "circular_dependency", "OtraCritica"), background=False)
    assert [p.get("canal") for p in rb.store.pages()] == ["page"]
