"""Grade the instructor's reference and the untouched release of one day, and the promise they keep.

Shared by the live grading tests of every graded day: both copies are published with
``opsbook curso publicar``'s code, graded one after the other on the session's stack (so the
second student is graded after the first on the same stack, as in a real cohort), and the
course's promise is checked: the reference scores 100 % of the automatic points, the untouched
release at most 20 %, neither is flagged for tampering.
"""

from __future__ import annotations

import time

from opsbook.course import authoring, cohort, release

UNTOUCHED_MAX = 0.20


def grade_pair(day: int, tmp_path_factory, cell_timeout_s: float = 900) -> cohort.CohortResult:
    """Publish both copies, grade them for ``day`` and print the figures (``pytest -s``)."""
    subs = tmp_path_factory.mktemp("entregas")
    release.publish(subs / "referencia", with_solutions=True)
    release.publish(subs / "intacta", with_solutions=False)
    out = tmp_path_factory.mktemp("calificaciones")
    started = time.perf_counter()
    result = cohort.grade_cohort(day, [subs / "referencia", subs / "intacta"], out,
                                 cell_timeout_s=cell_timeout_s)
    print(f"\ncalificación del día {day}: {time.perf_counter() - started:.1f} s en total; "
          + ", ".join(f"{g.student} {g.automatic[0]:g}/{g.automatic[1]:g} en {g.seconds:.1f} s"
                      for g in result.grades))
    return result


def assert_promise(result: cohort.CohortResult, exercises: set[str] | None = None) -> None:
    """Reference 100 %, untouched ≤ 20 % (with ``exercises`` among its criteria), no tampering."""
    by = {g.student: g for g in result.grades}
    got, top = by["referencia"].automatic
    failed = [(r.criterion, r.message) for r in by["referencia"].results
              if not r.passed and not r.manual]
    assert got == top > 0, failed
    got, top = by["intacta"].automatic
    assert got <= UNTOUCHED_MAX * top, [(r.criterion, r.message) for r in by["intacta"].results]
    if exercises:
        assert {r.exercise for r in by["intacta"].results if not r.manual} >= exercises
    assert "tampering" not in by["intacta"].flags + by["referencia"].flags


def grade_untouched(day: int, tmp_path_factory,
                    cell_timeout_s: float = 900) -> cohort.CohortResult:
    """Publish and grade only the untouched release of ``day`` (the reference is nbval's run)."""
    subs = tmp_path_factory.mktemp(f"entregas_dia{day}")
    release.publish(subs / "intacta", with_solutions=False)
    out = tmp_path_factory.mktemp(f"calificaciones_dia{day}")
    return cohort.grade_cohort(day, [subs / "intacta"], out, cell_timeout_s=cell_timeout_s)


def assert_untouched_promise(result: cohort.CohortResult, day: int, exercises: set[str]) -> None:
    """Untouched release: ≤ 20 % of ≥ 15 automatic points, ``exercises`` graded, no tampering."""
    (grade,) = result.grades
    got, top = grade.automatic
    crit = authoring.criteria(authoring.read_source(authoring.source_path(day)))
    assert top == sum(c.points for c in crit if not c.manual) >= 15
    assert {c.exercise for c in crit} >= exercises
    assert got <= UNTOUCHED_MAX * top, [(r.criterion, r.message) for r in grade.results]
    assert "tampering" not in grade.flags
