"""The real releases of the graded days (1-5): no solution, no hidden check, no marker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from opsbook.course import authoring, release

ROOT = Path(__file__).resolve().parents[2]
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def _secret_lines(day: int) -> list[str]:
    """Lines written only inside a solution or hidden region.

    Not secrets: a line the visible text also has (an import, a call the exercise statement
    quotes as a hint) and a line that repeats shipped library code: the release ships ``lib/``
    by design, and the checks re-measure with the same functions the statements point to (day
    5's figures are measured in ``day5_assignment.live_figures`` for the grader).
    """
    source = authoring.source_path(day).read_text()
    visible = REGION.sub("", source)
    library = "\n".join(p.read_text() for p in (ROOT / "lib").rglob("*.py"))
    secrets = []
    for m in REGION.finditer(source):
        for raw in m.group(2).splitlines():
            line = raw.strip().lstrip("# ").strip()
            if len(line) <= 25 or line in visible:
                continue
            if line in library:
                continue
            secrets.append(line)
    return secrets


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory):
    return release.publish(tmp_path_factory.mktemp("rel") / "alumno", with_solutions=False)


@pytest.mark.unit
def test_day1_source_is_an_assignment_with_three_live_exercises():
    crit = authoring.criteria(authoring.read_source(authoring.source_path(1)))
    exercises = {c.exercise for c in crit if not c.manual and c.exercise.startswith("ej")}
    assert exercises == {"ej1", "ej2", "ej3"}
    assert any(c.manual for c in crit) and all(c.points > 0 for c in crit)


@pytest.mark.unit
@pytest.mark.parametrize("day", [1, 2, 3, 4, 5])
def test_student_copy_has_no_secret_anywhere(student_copy, day):
    secrets = _secret_lines(day)
    assert len(secrets) > 15, f"the day-{day} source should have solution and hidden regions"
    files = [p for p in student_copy.dest.rglob("*") if p.is_file()]
    assert any(p.name == "Makefile" for p in files) and (student_copy.dest / "lib").is_dir()
    for path in files:
        text = path.read_text(errors="replace")
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{path}: {leaked[:3]}"


@pytest.mark.unit
@pytest.mark.parametrize("name", ["dia_1_testing", "dia_3_incidentes"])
def test_student_notebooks_carry_no_marker_and_stubs_instead(student_copy, name):
    folder = student_copy.dest / "notebooks" / name
    for path in (folder / f"{name}.ipynb", folder / f"{name}.py"):
        text = path.read_text()
        for trace in release.TRACES:
            assert trace not in text, (path, trace)
        assert "ej1_ocultas" not in text and text.count("raise NotImplementedError()") >= 3
    assert not (student_copy.dest / "dist").exists()
