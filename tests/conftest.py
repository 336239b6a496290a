"""Shared pytest setup: ``lib/`` on the path and the session-wide live stack."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import shards

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
if str(LIB) not in sys.path:
    sys.path.insert(0, str(LIB))


def pytest_configure(config):
    """The share of a split ``make test``, and nbval's kernels on private IPC sockets.

    ``scripts/test.sh`` runs the live part as two sessions on two stacks (``tests/shards.py``):
    this session takes its share from the environment and meets the other one through its
    plugin. nbval builds a bare ``KernelManager`` (TCP on 127.0.0.1, readable by any local
    user); ``opsbook.course.kernels.PrivateIpcKernelManager`` takes its place, like every other
    kernel of the project.
    """
    which = shards.claim()
    if which and not config.pluginmanager.has_plugin(SHARDS_PLUGIN):
        config.pluginmanager.register(shards.Meetings(which), SHARDS_PLUGIN)
    try:
        import nbval.kernel
    except ImportError:  # nbval not installed: nothing to configure
        return
    from opsbook.course.kernels import PrivateIpcKernelManager

    nbval.kernel.KernelManager = PrivateIpcKernelManager


RESTART_TEST = "tests/integration/test_rerun.py::test_days_pass_right_after_a_restart"
"""Runs just before the first notebook: nbval's run of every day is its first since a restart."""

GRADING_TESTS = "test_grading_"
"""Modules that grade a published copy of a day as a student (``opsbook curso calificar``)."""

LAST_GRADING = "test_grading_dia5.py"
"""Day 5's pair reads every day's evidence: graded after the others."""

SHARDS_PLUGIN = "opsbook-shards"
"""Name of this session's :class:`shards.Meetings` when ``make test`` splits the live part."""


def pytest_collection_modifyitems(session, config, items):
    """With the notebooks in the session, run the live part in the order a course runs.

    1. every other test; 2. the restart test (``tests/integration/test_rerun.py``); 3. the
    notebooks (nbval): the instructor's reference run of each day, each the first since the
    restart; 4. the grading tests: each grades the next student (``intacta``, and ``referencia``
    again for the days graded in pairs) on the stack the reference run just used, so one
    student's runs, drills and alerts must never count for the next; day 5's pair last, as it
    reads the whole week. Without notebooks the order is left alone (the restart test then runs
    days 2 and 3 itself). When ``make test`` splits the live part over two stacks
    (``tests/shards.py``), this session keeps only its share.
    """
    notebooks = [i for i in items if i.path.suffix == ".ipynb"]
    if notebooks:
        restart = [i for i in items if i.nodeid == RESTART_TEST]
        grading = [i for i in items if i.path.name.startswith(GRADING_TESTS)]
        grading.sort(key=lambda i: i.path.name == LAST_GRADING)
        moved = {id(i) for i in notebooks + restart + grading}
        items[:] = [i for i in items if id(i) not in moved] + restart + notebooks + grading
    meetings = config.pluginmanager.get_plugin(SHARDS_PLUGIN)
    if meetings is None:
        return
    mine, other = shards.select(items, ROOT, meetings.which)
    if other:
        config.hook.pytest_deselected(items=other)
    items[:] = mine
    meetings.plan(items, ROOT)


@pytest.fixture(scope="session")
def live_stack():
    """A healthy native stack for the session; yields ``settings``.

    A stack that is already healthy (``make test`` starts it before pytest) is reused and
    left running; otherwise it is started here and stopped at the end of the session.
    """
    from opsbook.settings import settings
    from opsbook.stack import lifecycle as stack

    started = False
    if not stack.is_healthy():
        stack.up(progress=False)
        started = True
    yield settings
    if started:
        stack.down()


RULES_YML = """\
groups:
  - name: prueba
    rules:
      - alert: PipelineDagFailed
        expr: vector(1)
        labels: {severity: warning, incident_type: dag_failure}
      - alert: AirflowApiDown
        expr: vector(1)
        labels: {severity: critical, incident_type: api_down}
"""


@pytest.fixture
def receiver(tmp_path, monkeypatch):
    """The real alert receiver on an ephemeral port, with a recorder instead of the runbook.

    Yields ``(url, token, handed, tmp_path)``: ``handed`` lists every payload the receiver
    handed to the (replaced) runbook hook; notifications go to ``tmp_path/n.jsonl``.
    """
    import threading

    from opsbook.observability import alert_receiver

    monkeypatch.setattr(alert_receiver, "notifications_file", lambda: tmp_path / "n.jsonl")
    monkeypatch.setattr(alert_receiver, "automation_off_flag", lambda: tmp_path / "off")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "prueba.yml").write_text(RULES_YML)
    handed: list[dict] = []
    token = "token-de-prueba-" + "x" * 24
    srv = alert_receiver.serve(port=0, token=token, hook=handed.append, rules_dir=rules)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", token, handed, tmp_path
    srv.shutdown()
    srv.server_close()
