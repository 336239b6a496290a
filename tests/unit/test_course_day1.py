"""Each student's namespace on the shared stack (day-1 assignment)."""

from __future__ import annotations

import pytest
from opsbook.course import day1

pytestmark = pytest.mark.unit


def test_dates_are_stable_per_student_and_differ_between_students():
    assert day1.student_date("ana") == day1.student_date("ana")
    dates = {day1.student_date(f"alumno-{i}") for i in range(40)}
    assert len(dates) > 30
    assert day1.student_seed("ana") != day1.student_seed("beto")


def test_run_ids_and_logical_dates_never_repeat_but_keep_the_day():
    run_id = day1.student_run_id("ana")
    assert run_id.startswith(f"curso__ana__{day1.student_date('ana')}__")
    first, second = (day1.logical_datetime("2026-04-01") for _ in range(2))
    assert first != second and first.date().isoformat() == "2026-04-01"


def test_bad_student_id_is_refused():
    with pytest.raises(ValueError, match="identificador"):
        day1.check_student("Ana López")
