"""`make test`'s two live sessions (`tests/shards.py`): their shares and meeting points."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import shards
from opsbook.waiting import WaitTimeout

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def item(path: str, name: str = "t") -> SimpleNamespace:
    return SimpleNamespace(path=ROOT / path, nodeid=f"{path}::{name}")


COURSE_ORDER = [
    item("tests/integration/test_stack.py"),
    item("tests/integration/test_celery.py"),
    item("tests/integration/test_blue_green.py"),
    item("tests/integration/test_rerun.py"),
    item("notebooks/dia_1_testing/dia_1_testing.ipynb", "Cell 1"),
    item(shards.DAY4, "Cell 1"),
    item(shards.DAY4, "Cell 2"),
    item(shards.DAY5, "Cell 1"),
    item("tests/integration/test_grading_dia4.py"),
    item("tests/integration/test_grading_dia5.py"),
]


def test_every_file_named_exists():
    named = {*shards.SHARD_B, *(p for m in (*shards.SIGNAL_AFTER.values(),
                                            *shards.WAIT_BEFORE.values()) for p in m)}
    assert all((ROOT / path).is_file() for path in named), named


def test_b_runs_day4_first_and_its_grading_last():
    mine, rest = shards.select(list(COURSE_ORDER), ROOT, "b")
    assert [i.nodeid for i in mine] == [
        f"{shards.DAY4}::Cell 1", f"{shards.DAY4}::Cell 2",
        "tests/integration/test_celery.py::t", "tests/integration/test_blue_green.py::t",
        "tests/integration/test_grading_dia4.py::t"]
    assert shards.SHARD_B[0] == shards.DAY4
    assert shards.SHARD_B[-1] == "tests/integration/test_grading_dia4.py"
    assert len(mine) + len(rest) == len(COURSE_ORDER)


def test_a_keeps_the_rest_in_the_course_order():
    mine, rest = shards.select(list(COURSE_ORDER), ROOT, "a")
    assert mine == [i for i in COURSE_ORDER if shards.rel(i.path, ROOT) not in shards.SHARD_B]
    assert {shards.rel(i.path, ROOT) for i in rest} <= set(shards.SHARD_B)


def test_each_wait_is_for_a_marker_the_other_session_leaves():
    for me, other in (("a", "b"), ("b", "a")):
        left_by_other = {*shards.SIGNAL_AFTER[other].values(), *shards.AT_END[other]}
        assert set(shards.WAIT_BEFORE[me].values()) <= left_by_other, me
        # a session that dies still releases the other: every marker it owes is left at the end
        assert set(shards.SIGNAL_AFTER[me].values()) <= set(shards.AT_END[me]), me


def test_files_are_awaited_and_signalled_in_their_own_session():
    for which in ("a", "b"):
        for path in (*shards.WAIT_BEFORE[which], *shards.SIGNAL_AFTER[which]):
            assert (path in shards.SHARD_B) == (which == "b"), (which, path)


def test_unsplit_session_selects_nothing_and_never_waits(monkeypatch):
    monkeypatch.setattr(shards, "_CLAIMED", {})
    monkeypatch.delenv(shards.SHARD_ENV, raising=False)
    monkeypatch.delenv(shards.SYNC_ENV, raising=False)
    assert shards.claim() is None and shards.marker("fin_a") is None
    shards.leave("fin_a")  # no folder: nothing to do
    assert shards.await_marker("fin_b") == 0.0


def test_a_session_takes_its_share_out_of_the_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "_CLAIMED", {})
    monkeypatch.setenv(shards.SHARD_ENV, "B")
    monkeypatch.setenv(shards.SYNC_ENV, str(tmp_path))
    assert shards.claim() == "b"
    assert shards.SHARD_ENV not in os.environ and shards.SYNC_ENV not in os.environ
    assert shards.marker("fin_b") == tmp_path / "fin_b"


def test_a_wait_ends_when_the_marker_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "_CLAIMED", {"shard": "a", "folder": str(tmp_path)})
    timer = threading.Timer(1.5, shards.leave, ("dia4_referencia",))
    timer.start()
    waited = shards.await_marker("dia4_referencia")
    assert 1.0 <= waited < 5.0
    assert (tmp_path / "dia4_referencia").exists()


def test_a_wait_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "_CLAIMED", {"shard": "b", "folder": str(tmp_path)})
    monkeypatch.setattr(shards, "WAIT_S", 0.5)
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="la otra pila de pruebas"):
        shards.await_marker("fin_b")
    assert time.monotonic() - started < 5.0


def test_the_plugin_waits_before_the_first_test_and_signals_after_the_last(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "_CLAIMED", {"shard": "a", "folder": str(tmp_path)})
    meetings = shards.Meetings("a")
    mine, _ = shards.select(list(COURSE_ORDER), ROOT, "a")
    d5 = [i for i in mine if i.nodeid.startswith(shards.DAY5)]
    meetings.plan(mine + [item(shards.DAY5, "Cell 2")], ROOT)
    assert meetings.waits[d5[0].nodeid] == "dia4_referencia"
    assert meetings.signals == {f"{shards.DAY5}::Cell 2": "dia5_referencia"}
    (tmp_path / "dia4_referencia").touch()
    meetings.pytest_runtest_setup(d5[0])
    assert [name for name, _ in meetings.waited] == ["dia4_referencia"]
    meetings.pytest_runtest_logreport(SimpleNamespace(when="call", nodeid=f"{shards.DAY5}::Cell 2"))
    assert not (tmp_path / "dia5_referencia").exists()
    meetings.pytest_runtest_logreport(
        SimpleNamespace(when="teardown", nodeid=f"{shards.DAY5}::Cell 2"))
    assert (tmp_path / "dia5_referencia").exists()
    meetings.pytest_sessionfinish()
    assert (tmp_path / "fin_a").exists()
