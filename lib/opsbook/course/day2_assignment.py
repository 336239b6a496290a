"""Day 2 assignment helpers: the student's namespace, their PromQL under promtool, live checks.

Why this module exists: the graded exercises of day 2 ask the student for the PromQL of a
dashboard panel, an alert rule with its own ``promtool test rules`` unit test, and the latency
of the alert their own failing run caused. The hidden checks must verify that against the
real tools and the live stack, never against what the notebook printed: they run the real
``promtool`` on the student's rule and test (and on mutants of the rule, to prove the test can
fail), evaluate the student's expressions in Prometheus at the instants of the student's own
runs, and read the webhook's notifications keyed to the student's run. Every student works in
their own namespace on the shared stack: run ids, the dirty run's date and the generator seed
are derived from the ``alumno`` parameter through :mod:`opsbook.course.day1`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from opsbook.course import day1, day2
from opsbook.observability.signals import _seconds

RULE_NAME = "CuarentenaDetectada"
"""Name the student's alert rule must carry."""
QUARANTINE_SERIES = 'airflow_pipeline_transform_errors{dag_id="%s"}'
"""Series of rows quarantined by ``transform`` (a counter, label ``dag_id``)."""
SPAN_DAYS = 60
"""Dates of the dirty runs: the ``SPAN_DAYS`` days after day 1's span."""
MAX_FOR_S = 10.0
"""Longest ``for`` accepted for the student's rule (the hidden cases evaluate 15 s after)."""
SETTLE_S = 3.0
"""Seconds after a ``transform`` task ended by which its metric was scraped (1 s interval)."""


# ---- the instructor's reference queries ------------------------------------------------
def window_count(series: str, window: str = "1m") -> str:
    """How much a counter grew in the last ``window``, per ``dag_id``, exact and reset-aware.

    The same form as the windowed rules of ``monitoring/prometheus/rules/pipeline.yml``
    (``x - ((x offset w <= x) or x * 0)``): no extrapolation (``increase()`` gives decimals),
    ``0`` rather than nothing when the counter is new, and after a counter reset (the stack
    restarted within the window) the count since the restart instead of a negative number.

    Args:
        series: the counter's series selector, e.g. ``QUARANTINE_SERIES % "pipeline_ventas"``.
        window: a PromQL duration.
    """
    now = f"sum by (dag_id) ({series})"
    return f"{now} - ((sum by (dag_id) ({series} offset {window}) <= {now}) or {now} * 0)"


def reference_panel(dag_id: str = day2.DAG_ID) -> str:
    """The instructor's answer to exercise 1: rows of ``dag_id`` quarantined in the last minute."""
    return window_count(QUARANTINE_SERIES % dag_id, "1m")


def reference_alert_expr(series: str = "airflow_pipeline_transform_errors") -> str:
    """The instructor's answer to exercise 2: quarantine in the last minute, newborn counter too.

    ``increase()`` misses a counter whose first sample already carries the rows (after the
    StatsD bridge restarts there is no "before"); the ``unless ... offset 1m`` term catches it.
    """
    return (f"sum by (dag_id) (increase({series}[1m])) > 0 or (sum by (dag_id) ({series}) > 0"
            f" unless sum by (dag_id) ({series} offset 1m))")


# ---- the student's namespace ------------------------------------------------------------
def student_date(alumno: str) -> str:
    """The date of the student's dirty run, in the span right after day 1's dates.

    Day 1's dates (``day1.student_date``) never reach this span, so the two days' warehouse
    rows of one student stay apart; the span ends before the course runs (no future date).
    """
    first = day1.FIRST_DATE + timedelta(days=day1.SPAN_DAYS)
    return (first + timedelta(days=day1.student_seed(alumno) % SPAN_DAYS)).isoformat()


def run_id(alumno: str, scenario: str) -> str:
    """A fresh run id of ``scenario`` in the student's namespace (``curso__<alumno>__…``)."""
    return f"{day1.student_run_id(alumno)}__{scenario}"


def owns_run(alumno: str, dag_run_id: str) -> bool:
    """Whether ``dag_run_id`` was created in ``alumno``'s namespace."""
    return dag_run_id.startswith(f"curso__{day1.check_student(alumno)}__")


def trigger(alumno: str, scenario: str, conf: dict[str, Any]) -> tuple[str, float]:
    """Trigger one of the day's runs in the student's namespace.

    The dirty run (``sucia``) processes the student's own date (:func:`student_date`), so the
    rows it quarantines can be counted in the warehouse by that date alone.

    Returns:
        ``(run_id, unix time of the trigger)`` as :func:`opsbook.course.day2.trigger`.
    """
    logical = (day1.logical_datetime(student_date(alumno)) if scenario == "sucia" else None)
    return day2.trigger(conf, run_id=run_id(alumno, scenario), logical_date=logical)


def quarantined_rows(alumno: str) -> int:
    """Rows the warehouse holds in quarantine for the student's date (the files' truth)."""
    from opsbook.pipeline.warehouse import QUARANTINE, open_warehouse

    return open_warehouse().count(QUARANTINE, ds=student_date(alumno))


# ---- live evaluation ------------------------------------------------------------------
def transform_done_at(dag_run_id: str) -> float:
    """Unix time by which the ``transform`` metrics of a run were in Prometheus.

    Raises:
        LookupError: the run has no finished ``transform`` task.
    """
    from opsbook.airflow import client as airflow_api

    for ti in airflow_api.task_instances(day2.DAG_ID, dag_run_id):
        if ti["task_id"] == "transform" and ti.get("end_date"):
            end = ti["end_date"]
            end = end if isinstance(end, datetime) else datetime.fromisoformat(str(end))
            return end.timestamp() + SETTLE_S
    raise LookupError(f"la ejecución {dag_run_id} no tiene la tarea transform terminada")


@dataclass(frozen=True)
class Evaluation:
    """An expression evaluated by the live Prometheus at one past instant.

    Attributes:
        expr: the PromQL.
        at: evaluation instant (Unix seconds).
        samples: ``(labels without __name__, value)`` of every series returned.
    """

    expr: str
    at: float
    samples: list[tuple[dict[str, str], float]]

    def values_for(self, dag_id: str = day2.DAG_ID) -> list[float]:
        """Values of the series labelled ``dag_id``."""
        return [v for labels, v in self.samples if labels.get("dag_id") == dag_id]


def evaluate_at(expr: str, at: float) -> Evaluation:
    """Evaluate ``expr`` in the stack's Prometheus at instant ``at``.

    Raises:
        opsbook.observability.prom.PromQLError: the expression does not parse.
    """
    from opsbook.observability import prom

    samples = [({k: v for k, v in s["metric"].items() if k != "__name__"}, float(s["value"][1]))
               for s in prom.raw_query(expr, at=at)]
    return Evaluation(expr, at, samples)


# ---- promtool ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PromtoolRun:
    """One ``promtool test rules`` run.

    Attributes:
        ok: promtool exited 0 (every case passed).
        cases: ``eval_time`` cases run.
        output: promtool's stdout and stderr.
    """

    ok: bool
    cases: int
    output: str


def check_rule(regla: Any) -> dict[str, Any]:
    """Validate the shape of the student's rule (a dict like one entry of ``rules:``).

    Returns:
        The rule, with ``for`` and ``labels`` as given.

    Raises:
        ValueError: what to change (Spanish).
    """
    if not isinstance(regla, dict):
        raise ValueError(f"la regla debe ser un dict como una entrada de 'rules:', no {regla!r}")
    if regla.get("alert") != RULE_NAME:
        raise ValueError(f"la regla debe llamarse {RULE_NAME!r} (clave 'alert')")
    if not isinstance(regla.get("expr"), str) or not regla["expr"].strip():
        raise ValueError("la regla necesita 'expr' (una expresión PromQL en texto)")
    if not isinstance(regla.get("labels"), dict) or regla["labels"].get("severity") != "warning":
        raise ValueError("la regla necesita labels: {'severity': 'warning'}")
    try:
        pending_s = _seconds(str(regla.get("for", "0s")))
    except (ValueError, KeyError):
        pending_s = None
    if pending_s is None or pending_s > MAX_FOR_S:
        raise ValueError(f"'for' = {regla.get('for')!r}: usa una duración de como mucho "
                         f"{MAX_FOR_S:g}s (p. ej. '0s' o '5s')")
    extra = set(regla) - {"alert", "expr", "for", "labels", "annotations"}
    if extra:
        raise ValueError(f"claves desconocidas en la regla: {sorted(extra)}")
    if "{{" in yaml.safe_dump(regla.get("annotations") or {}):
        raise ValueError("las anotaciones no pueden usar plantillas {{ }} (promtool las compara "
                         "exactamente)")
    return regla


def _promtool(folder: Path, rules: list[dict[str, Any]], tests: list[dict[str, Any]],
              name: str) -> PromtoolRun:
    folder.mkdir(parents=True, exist_ok=True)
    rules_path, tests_path = folder / f"{name}_reglas.yml", folder / f"{name}_prueba.yml"
    rules_path.write_text(yaml.safe_dump({"groups": [{"name": name, "rules": rules}]},
                                         sort_keys=False, allow_unicode=True))
    tests_path.write_text(yaml.safe_dump({"rule_files": [rules_path.name],
                                          "evaluation_interval": "1s", "tests": tests},
                                         sort_keys=False, allow_unicode=True))
    exe = shutil.which("promtool") or "/usr/bin/promtool"
    proc = subprocess.run([exe, "test", "rules", str(tests_path)], capture_output=True,
                          text=True, timeout=60, cwd=folder)
    cases = sum(len(t.get("alert_rule_test") or []) + len(t.get("promql_expr_test") or [])
                for t in tests)
    return PromtoolRun(proc.returncode == 0, cases, (proc.stdout + proc.stderr).strip())


def run_rule_test(regla: dict[str, Any], prueba: Any, folder: Path,
                  name: str = "alumno") -> PromtoolRun:
    """Run the student's promtool test (``prueba``: the list under ``tests:``) on ``regla``.

    Raises:
        ValueError: a malformed rule or a test that is not a non-empty list of dicts.
    """
    check_rule(regla)
    if not isinstance(prueba, list) or not prueba or not all(isinstance(t, dict)
                                                             for t in prueba):
        raise ValueError("la prueba debe ser una lista (lo que va bajo 'tests:') de dicts con "
                         "'interval', 'input_series' y 'alert_rule_test'")
    return _promtool(folder, [regla], prueba, name)


def survivors(regla: dict[str, Any], prueba: list[dict[str, Any]], mutant_exprs: list[str],
              folder: Path) -> list[str]:
    """Mutants of ``regla`` (same name, ``for`` and labels, another ``expr``) the test accepts.

    A test that passes on a wrong rule cannot catch that mistake; an empty list means the
    student's test told every mutant apart.
    """
    alive = []
    for k, expr in enumerate(mutant_exprs):
        if run_rule_test({**regla, "expr": expr}, prueba, folder, f"mutante{k}").ok:
            alive.append(expr)
    return alive


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"  # promtool durations take no decimals


def _series(values: str, dag_id: str = day2.DAG_ID) -> dict[str, str]:
    return {"series": QUARANTINE_SERIES % dag_id, "values": values}


def run_alert_cases(regla: dict[str, Any], cases: list[tuple[str, float, bool]],
                    folder: Path) -> PromtoolRun:
    """Run instructor cases ``(values of the quarantine series, eval second, fires?)`` on a rule.

    The expected alert carries the rule's labels plus ``dag_id`` and its (fixed) annotations.
    """
    check_rule(regla)
    fired = {"exp_labels": {**regla["labels"], "dag_id": day2.DAG_ID},
             "exp_annotations": regla.get("annotations") or {}}
    tests = [{"interval": "1s", "input_series": [_series(values)],
              "alert_rule_test": [{"eval_time": _ms(at), "alertname": RULE_NAME,
                                   "exp_alerts": [fired] if fires else []}]}
             for values, at, fires in cases]
    return _promtool(folder, [regla], tests, "casos_regla")


def run_panel_cases(expr: Any, cases: list[tuple[str, float, float]], folder: Path,
                    other_dag: str = "otro_dag") -> PromtoolRun:
    """Run instructor cases ``(values, eval second, expected value)`` on a panel expression.

    Each case also feeds a quarantine series of ``other_dag``: the panel must show only
    ``pipeline_ventas``, one series labelled ``dag_id``.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError("la consulta del panel debe ser un texto PromQL no vacío")
    tests = [{"interval": "1s",
              "input_series": [_series(values), _series("0x30 3x300", other_dag)],
              "promql_expr_test": [{"expr": expr, "eval_time": _ms(at), "exp_samples": [
                  {"labels": f'{{dag_id="{day2.DAG_ID}"}}', "value": expected}]}]}
             for values, at, expected in cases]
    return _promtool(folder, [], tests, "casos_panel")


# ---- the alert of the student's own run -----------------------------------------------
@dataclass(frozen=True)
class RunAlert:
    """The webhook's firing notification of the alert episode one run caused.

    Attributes:
        run_id: the run.
        state: its final state in Airflow.
        ended_at: when Airflow ended it (Unix seconds).
        received_at: webhook receive time (``None``: no notification of that episode).
        latency_s: ``received_at - ended_at``.
        receiver_path: webhook path that received it.
    """

    run_id: str
    state: str
    ended_at: float
    received_at: float | None
    latency_s: float | None
    receiver_path: str | None


def run_alert(dag_run_id: str, alertname: str = "PipelineDagFailed") -> RunAlert:
    """Read Airflow and the webhook for the notification of the episode ``dag_run_id`` caused.

    Only an alert whose ``startsAt`` is at or after the run's end counts (the episode of this
    run, never an earlier student's or an earlier run's).
    """
    from opsbook.airflow import client as airflow_api
    from opsbook.observability import alerts

    run = airflow_api.dag_run(day2.DAG_ID, dag_run_id)
    end = run.get("end_date")
    ended = (end if isinstance(end, datetime) else datetime.fromisoformat(str(end))).timestamp()
    hit = alerts.find_delivery(alerts.notifications(since=ended - 1), alertname, "firing",
                               {"dag_id": day2.DAG_ID}, episode_after=ended - 1)
    received = hit["received_at"] if hit else None
    return RunAlert(dag_run_id, run["state"], ended, received,
                    None if received is None else round(received - ended, 3),
                    hit["receiver_path"] if hit else None)
