"""Day 4 assignment checks: a student's schema v4, their speed-up and their own release.

Why this module exists: the day-4 exercises are graded against the live stack, never against
what the notebook printed. The student's schema v4 is parsed and judged by the project's own
compatibility checker (:mod:`opsbook.pipeline.avro_compat`, in-process and through the
``opsbook schema check`` command a CI job would run), and their predicted verdicts are compared
with it. The speed-up of the Celery experiment is recomputed from the run durations Airflow's
REST API reports for the student's own runs (tagged with ``alumno`` in their ``conf``). The
student's release (``v2-<alumno>``) is checked at the front door — the DAG that answers must be
theirs — and in the load generator's raw samples, recounted here, none may have failed. The
pure parts (verdict comparison, speed-up recomputation, failure recount) take plain values so
the unit tests cover them without a stack. A student's files go under
``evidencia/dia_4/alumnos/<alumno>/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from opsbook.course import day1
from opsbook.pipeline.avro_compat import MODES, Schema, SchemaFileError, check, parse
from opsbook.pipeline.schema_registry import registry

PREDICTED_MODES = ("BACKWARD", "FORWARD", "FULL")
"""Modes every prediction of exercise 1 must include (others of :data:`MODES` are optional)."""
TOLERANCE = 0.05
"""Relative difference allowed between the student's speed-up and the recomputed one."""
BASELINE_SLOTS = 2
"""Slots of the speed-up baseline (1 worker × 2, the first configuration)."""
CLI_EXIT = {0: True, 1: False}
"""Exit code of ``opsbook schema check`` → compatible."""


def student_dir(alumno: str) -> Path:
    """``evidencia/dia_4/alumnos/<alumno>/`` (created): where a student's files go."""
    return day1.student_dir(4, alumno)


# ---- exercise 1: a schema v4 and its predicted verdict ----------------------------------------
def previous_schemas() -> list[Schema]:
    """The registered customer schemas, newest first (what a v4 is checked against)."""
    reg = registry()
    return [reg.get(n).schema for n in sorted(reg.versions, reverse=True)]


def actual_verdicts(raw: Any, modes: list[str] | tuple[str, ...] = PREDICTED_MODES
                    ) -> dict[str, bool]:
    """The checker's verdict of schema ``raw`` against v3 (v2, v1) for each of ``modes``.

    Raises:
        SchemaFileError: ``raw`` is not a valid Avro schema.
    """
    new = parse(raw, "v4 del alumno")
    previous = previous_schemas()
    return {mode.upper(): check(mode, new, previous).compatible for mode in modes}


def _word(compatible: bool) -> str:
    return "compatible" if compatible else "incompatible"


def prediction_problems(predicted: Mapping[str, Any], actual: Mapping[str, bool]) -> list[str]:
    """Compare a predicted verdict per mode with the checker's.

    Args:
        predicted: mode → the student's ``True``/``False`` (must include :data:`PREDICTED_MODES`).
        actual: mode → the checker's verdict (same keys).

    Returns:
        One Spanish line per problem (empty = every prediction right).
    """
    problems = []
    keys = {str(k).upper() for k in predicted}
    problems += [f"falta la predicción del modo {m}" for m in PREDICTED_MODES if m not in keys]
    problems += [f"modo desconocido: {k}" for k in sorted(keys - set(MODES))]
    for mode, guess in predicted.items():
        mode = str(mode).upper()
        if mode not in actual:
            continue
        if not isinstance(guess, bool):
            problems.append(f"{mode}: la predicción debe ser True o False, no {guess!r}")
        elif guess != actual[mode]:
            problems.append(f"{mode}: predijiste {_word(guess)} y el comprobador dice "
                            f"{_word(actual[mode])}")
    return problems


def _canonical(raw: Any) -> str:
    return json.dumps(raw, sort_keys=True, ensure_ascii=False)


def differs_from(raw: Any, other: Any) -> bool:
    """Whether two schema documents differ in anything but key order."""
    return _canonical(raw) != _canonical(other)


def schema_problems(raw: Any, predicted: Mapping[str, Any], alumno: str,
                    cli: Callable[..., Any] | None = None) -> list[str]:
    """Grade exercise 1: a valid v4 that changes v3, with every predicted verdict right.

    The verdicts come from the checker in this process and, for each predicted mode, from the
    real ``opsbook schema check`` run on the schema written to the student's folder: both
    must agree with the prediction.

    Args:
        raw: the student's schema document (a dict).
        predicted: mode → predicted compatibility.
        alumno: student id (the schema is written to :func:`student_dir`).
        cli: runs ``opsbook schema`` with its arguments (default
            :func:`opsbook.course.day4_versioning.schema_cli`).

    Returns:
        One Spanish line per problem (empty = accepted).
    """
    from opsbook.course import day4_versioning

    try:
        actual = actual_verdicts(raw, [str(m) for m in predicted if str(m).upper() in MODES])
    except SchemaFileError as exc:
        return [str(exc)]
    problems = []
    if not differs_from(raw, registry().get(3).schema.raw):
        problems.append("tu v4 es igual que v3: no cambia nada")
    problems += prediction_problems(predicted, actual)
    path = student_dir(alumno) / "clientes_v4.avsc"
    path.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    run = cli or day4_versioning.schema_cli
    olds = [day4_versioning.schema_path(f"clientes_v{n}.avsc") for n in (3, 2, 1)]
    for mode, verdict in actual.items():
        done = run("check", "--mode", mode, str(path), *olds)
        if CLI_EXIT.get(done.returncode) != verdict:
            problems.append(f"{mode}: opsbook schema check salió con {done.returncode} y el "
                            f"comprobador dice {_word(verdict)}")
    return problems


# ---- exercise 2: the speed-up of the student's own runs --------------------------------------
def speedups_from_durations(durations: Mapping[tuple[str, int], float],
                            baseline_slots: int = BASELINE_SLOTS) -> dict[str, dict[int, float]]:
    """Speed-up per DAG and slot count: the baseline's duration divided by each run's.

    Args:
        durations: ``(dag_id, slots)`` → seconds (one run each).
        baseline_slots: slots of the baseline configuration.

    Returns:
        ``{dag_id: {slots: speedup}}``; the baseline's own speed-up is 1.0.

    Raises:
        ValueError: a DAG without a baseline run, or a duration that is not positive.
    """
    out: dict[str, dict[int, float]] = {}
    for (dag_id, slots), seconds in durations.items():
        base = durations.get((dag_id, baseline_slots))
        if base is None:
            raise ValueError(f"{dag_id}: no hay ejecución de referencia con {baseline_slots} "
                             "ranuras")
        if seconds <= 0 or base <= 0:
            raise ValueError(f"{dag_id}: duración no positiva ({seconds} s)")
        out.setdefault(dag_id, {})[int(slots)] = base / seconds
    return out


def run_problems(run: Mapping[str, Any], alumno: str) -> list[str]:
    """Whether a DAG run (as the REST API returns it) is a finished run of ``alumno``."""
    name = f"{run.get('dag_id')}/{run.get('dag_run_id')}"
    state = str(getattr(run.get("state"), "value", run.get("state"))).lower()
    problems = [] if state == "success" else [f"{name} terminó en {state!r}"]
    if (run.get("conf") or {}).get("alumno") != alumno:
        problems.append(f"{name} no es una ejecución tuya (conf sin alumno={alumno!r})")
    return problems


def speedup_problems(student: Mapping[str, Mapping[int, float]],
                     expected: Mapping[str, Mapping[int, float]],
                     tolerance: float = TOLERANCE) -> list[str]:
    """Compare the student's speed-ups with the recomputed ones (relative ``tolerance``).

    Returns:
        One Spanish line per problem (empty = every figure within tolerance).
    """
    problems = []
    for dag_id, by_slots in expected.items():
        mine = student.get(dag_id)
        if not isinstance(mine, Mapping):
            problems.append(f"falta la aceleración de {dag_id}")
            continue
        for slots, value in by_slots.items():
            got = mine.get(slots)
            if not isinstance(got, int | float) or isinstance(got, bool):
                problems.append(f"{dag_id} con {slots} ranuras: falta la aceleración")
            elif abs(got - value) > tolerance * value:
                problems.append(f"{dag_id} con {slots} ranuras: {got:.2f}× y Airflow da "
                                f"{value:.2f}×")
    return problems


def recomputed_speedups(rows: list[Mapping[str, Any]], alumno: str,
                        fetch: Callable[[str, str], Mapping[str, Any]] | None = None
                        ) -> tuple[dict[str, dict[int, float]], list[str]]:
    """Read each run of ``rows`` back from Airflow and recompute the speed-ups.

    Args:
        rows: the experiment's rows (only ``dag_id``, ``run_id`` and ``slots`` are used).
        alumno: student id every run must carry in its ``conf``.
        fetch: ``(dag_id, run_id)`` → run (default: :func:`opsbook.airflow.client.dag_run`).

    Returns:
        The speed-ups (:func:`speedups_from_durations`) and the problems of the runs.
    """
    from opsbook.airflow.dagruns import wall_time_s

    if fetch is None:
        from opsbook.airflow import client as airflow_api

        fetch = airflow_api.dag_run
    durations, problems = {}, []
    for row in rows:
        run = dict(fetch(row["dag_id"], row["run_id"]))
        run.setdefault("dag_id", row["dag_id"])
        run.setdefault("dag_run_id", row["run_id"])
        problems += run_problems(run, alumno)
        durations[row["dag_id"], int(row["slots"])] = wall_time_s(run)
    return speedups_from_durations(durations), problems


# ---- exercise 3: the student's release, shipped under load -----------------------------------
def release_label(alumno: str) -> str:
    """The version label of ``alumno``'s release (``v2-<alumno>``)."""
    return f"v2-{day1.check_student(alumno)}"


def failed_samples(report: Any) -> list[Any]:
    """Recount the failed requests of a load report from its raw samples.

    A request is good only with a 2xx status, no error and a latency within the report's
    timeout; the summary the notebook printed is not trusted.
    """
    return [s for s in report.samples
            if s.status is None or not 200 <= s.status < 300 or s.error
            or s.latency_s > report.timeout_s]


def load_problems(report: Any, min_rate: float) -> list[str]:
    """Check the load generator's record of a deploy: load all along, nothing failed.

    Args:
        report: the :class:`~opsbook.deploy.loadgen.LoadReport` of the deploy.
        min_rate: requests per second the load had to reach.

    Returns:
        One Spanish line per problem (empty = accepted).
    """
    marks = dict((label, t) for t, label in report.marks)
    problems = [f"el registro de carga no marca «{m}»" for m in ("paso 1", "paso 5", "fin")
                if m not in marks]
    if problems:
        return problems
    failed = failed_samples(report)
    if failed:
        problems.append(f"{len(failed)} de {len(report.samples)} peticiones fallaron")
    span = marks["fin"] - marks["paso 1"]
    during = [s for s in report.samples if marks["paso 1"] <= s.t <= marks["fin"]]
    if span <= 0 or len(during) < 0.8 * min_rate * span:
        problems.append(f"solo {len(during)} peticiones en los {span:.0f} s del despliegue "
                        f"(se esperaban ≥ {min_rate:g}/s)")
    if not any(s.t > marks["paso 5"] for s in report.samples):
        problems.append("no hubo carga después del cambio de tráfico")
    return problems


def served_problems(served: Mapping[str, Any], label: str, fields: list[str],
                    baseline_fields: list[str]) -> list[str]:
    """Check what the front door's ``informe_release`` run reported after the deploy.

    Args:
        served: :func:`opsbook.deploy.shipping.run_report` through the front door.
        label: the student's release label.
        fields: fields of the schema the student's release writes.
        baseline_fields: fields the release in production before the deploy wrote.

    Returns:
        One Spanish line per problem (empty = the student's code answers).
    """
    problems = []
    if served.get("version") != label:
        problems.append(f"la puerta de entrada sirve {served.get('version')!r}, no {label!r}")
    if list(served.get("campos", [])) != list(fields):
        problems.append(f"tu release escribe {served.get('campos')}, su esquema tiene {fields}")
    if set(fields) == set(baseline_fields):
        problems.append("tu release escribe los mismos campos que la v1: no cambia su "
                        "comportamiento")
    return problems
