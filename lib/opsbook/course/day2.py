"""Helpers of the day-2 notebook (monitoring): parameters, scenario runs, tables, answers.

Why this module exists: the notebook only narrates, calls, displays and asserts. Running the
four ``pipeline_ventas`` scenarios while reading the metrics before and after each, turning the
results into tables, checking the rules with promtool and writing the verification answers from
the measured numbers is logic, so it lives here where the linters see it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from opsbook.observability import catalog, prom, signals
from opsbook.settings import settings
from opsbook.stack.control import component_started_at
from opsbook.waiting import WaitTimeout, wait_until

DAG_ID = "pipeline_ventas"
CALLBACK_GRACE_S = 30.0
"""Seconds a restarted dag-processor gets to run the DAG callbacks of runs that ended before it
started. Airflow queues those requests in the metadata DB, and the new process runs them within
seconds; one it had already taken when it was stopped is lost, and waiting for it would only add
the whole timeout to every snapshot of the day (measured: 4 × 120 s after a `down` right after a
run)."""


def check_params(n_rows: Any, dirty_fraction: Any, run_timeout_s: Any,
                 alert_timeout_s: Any) -> None:
    """Validate the notebook parameters.

    Raises:
        ValueError: naming the parameter to change (Spanish).
    """
    if not isinstance(n_rows, int) or not 50 <= n_rows <= 100_000:
        raise ValueError(f"n_rows={n_rows!r}: usa un entero entre 50 y 100000")
    if not isinstance(dirty_fraction, int | float) or not 0 < dirty_fraction < 0.1:
        raise ValueError(f"dirty_fraction={dirty_fraction!r}: usa un número entre 0 y 0.1 "
                         "(con más del 10 % de filas malas dispara la alerta de calidad y el "
                         "runbook del día 3 actuaría sobre la ejecución)")
    for name, value in (("run_timeout_s", run_timeout_s), ("alert_timeout_s", alert_timeout_s)):
        if not isinstance(value, int | float) or not 60 <= value <= 3600:
            raise ValueError(f"{name}={value!r}: usa un plazo entre 60 y 3600 segundos")


def scenarios(n_rows: int, dirty_fraction: float,
              seed: int | None = None) -> dict[str, dict[str, Any]]:
    """The four runs of the day: clean, dirty, injected failure, deadline miss (DAG ``conf``).

    The deadline run waits in ``transform`` until the deadline callback has counted its miss
    (``until_sla_miss``), so it ends a few seconds after its deadline however fast or loaded
    the machine (measured: counted 3 s after the deadline, run ended 3 s later);
    ``slow_seconds`` (SLA + 60 s) only caps that wait.

    Args:
        n_rows: rows of each run's sales file.
        dirty_fraction: fraction of bad rows of the dirty run.
        seed: generator seed of every run (a student's own, see ``day1.student_seed``);
            ``None`` keeps the DAG's default.
    """
    plans: dict[str, dict[str, Any]] = {
        "limpia": {"n_rows": n_rows, "bad_fraction": 0.0},
        "sucia": {"n_rows": n_rows, "bad_fraction": dirty_fraction},
        "fallo": {"n_rows": n_rows, "bad_fraction": 0.0, "fail_at": "transform"},
        "deadline": {"n_rows": n_rows, "bad_fraction": 0.0,
                     "slow_seconds": settings.sla_seconds + 60, "until_sla_miss": True},
    }
    if seed is not None:
        for conf in plans.values():
            conf["seed"] = seed
    return plans


FRESH_S = 10.0
"""A series whose newest sample is older than this is not exposed by the bridge any more."""


def _metric_expr(m: catalog.Metric) -> str:
    return signals.metric_series(m.name, DAG_ID)


def live_series(expr: str, fresh_s: float = FRESH_S) -> str:
    """``expr`` restricted to series scraped in the last ``fresh_s`` seconds.

    After a restart Prometheus can still answer with the previous stack's last samples (no
    staleness marker when the whole stack stopped at once) while the new StatsD bridge counts
    from 0: such a series is not being scraped any more, so its true current value is "absent"
    (0), not the old number. Filtering by sample age makes a before/after difference measure
    only this stack's counting, whatever an earlier stack left behind.

    Args:
        expr: a plain series selector (``timestamp()`` needs raw samples).
        fresh_s: maximum age of the newest sample, in seconds.
    """
    return f"({expr} and (time() - timestamp({expr})) < {fresh_s:g})"


def wait_callbacks_counted(horizon_s: float = 900, timeout_s: float = 120) -> list[str]:
    """Wait until every recently ended run's DAG callback was sent **and** scraped.

    A run turns terminal before its DAG callback (run later by the dag-processor) sends
    ``dag_success``/``dag_failure``. For each run of the DAG that ended in the last
    ``horizon_s`` seconds this waits for its record in :mod:`opsbook.observability.callback_ledger`
    (keyed by ``run_id``), then for a Prometheus scrape of the bridge taken after the
    newest of those records, so a snapshot taken next already counts every one of them.
    A run that ended before the running dag-processor started is waited for only during the
    first :data:`CALLBACK_GRACE_S` seconds of that process: after a restart its callback either
    ran from the metadata DB's queue by then or was lost with the old process.

    Args:
        horizon_s: how far back ended runs are considered.
        timeout_s: bound of the wait for the ledger records.

    Returns:
        The ``run_id`` of runs whose callback never showed up in time (normally empty;
        a callback lost by an overloaded dag-processor shows up here, with a warning).
    """
    import warnings

    from opsbook.airflow import client as airflow_api
    from opsbook.observability import callback_ledger

    ended: list[str] = []
    seen: dict[str, Any] = {}
    restarted_at = component_started_at("dag-processor")

    def owed(end: float) -> bool:
        # A run that ended before this dag-processor started is owed its callback only while
        # the new one may still be running the requests queued in the metadata DB.
        return (restarted_at is None or end >= restarted_at
                or time.time() < restarted_at + CALLBACK_GRACE_S)

    def missing_callbacks() -> list[str]:
        horizon = time.time() - horizon_s
        ends = {r["dag_run_id"]: datetime.fromisoformat(r["end_date"]).timestamp()
                for r in airflow_api.dag_runs(DAG_ID, limit=20)
                if r["state"] in airflow_api.TERMINAL_STATES and r.get("end_date")}
        ended[:] = [run_id for run_id, end in ends.items() if end >= horizon]
        seen.clear()
        seen.update(callback_ledger.recorded(DAG_ID))
        return [run_id for run_id in ended if run_id not in seen and owed(ends[run_id])]

    try:
        missing = wait_until(missing_callbacks, timeout_s, 0.5,
                             "el callback de cada ejecución terminada quede registrado",
                             until=lambda missing: not missing)
    except WaitTimeout as exc:
        missing = exc.last
    if missing:
        warnings.warn(f"sin callback registrado para {missing} tras {timeout_s:g} s: sus "
                      "contadores pueden aparecer en la siguiente diferencia", stacklevel=2)
    sent = [seen[run_id]["at"] for run_id in ended if run_id in seen]
    if sent:
        prom.wait_scraped(max(sent) + 0.2)  # UDP → bridge is sub-millisecond; margin for clocks
    return missing


def snapshot() -> dict[str, float]:
    """Current value of every catalog metric of the DAG (timers: observation count).

    First lets any run in flight finish (:func:`opsbook.airflow.client.settle`: unpausing the
    daily DAG makes the scheduler start its own run) and waits until the DAG callbacks of the
    runs that ended are counted by Prometheus (:func:`wait_callbacks_counted`), so the next
    delta is exactly one run's. Also ``airflow_dagrun_failed_count`` (Airflow's own count of
    failed runs). Missing series, and series the current bridge no longer exposes (an earlier
    stack's stale samples, see :func:`live_series`), read as 0.
    """
    from opsbook.airflow import client as airflow_api

    airflow_api.wait_for_dag(DAG_ID, timeout_s=300)
    airflow_api.settle(DAG_ID)
    wait_callbacks_counted()
    values = {m.name: prom.value(live_series(_metric_expr(m)), 0.0) for m in catalog.METRICS}
    failed = f'airflow_dagrun_failed_count{{dag_id="{DAG_ID}"}}'
    values["airflow_dagrun_failed_count"] = prom.value(live_series(failed), 0.0)
    return values


@dataclass
class PipelineRun:
    """One run of the sales pipeline as the day-2 notebook measures it.

    ``deltas`` are the pipeline metrics after − before the run (one run's effect); ``after``
    their values once this run's callback reached Prometheus.
    """

    name: str
    run_id: str
    state: str
    ended_at: float
    """Unix time the run ended (REST API ``end_date``)."""
    queued_at: float
    """Unix time the run was queued (its deadline counts from here)."""
    seconds: float
    """Trigger → end, in seconds."""
    deltas: dict[str, float]
    after: dict[str, float]


def trigger(conf: dict[str, Any], run_id: str | None = None,
            logical_date: datetime | None = None) -> tuple[str, float]:
    """Trigger a run; returns ``(run_id, unix time of the trigger)``.

    Args:
        conf: the run's parameters.
        run_id: its id (default: Airflow's ``manual__<time>``).
        logical_date: the date it processes (default: none, its ``run_after``).
    """
    from opsbook.airflow import client as airflow_api

    airflow_api.wait_for_dag(DAG_ID, timeout_s=300)
    return airflow_api.trigger_dag(DAG_ID, conf=conf, run_id=run_id,
                                   logical_date=logical_date), time.time()


def finish(name: str, run_id: str, triggered_at: float, before: dict[str, float],
           timeout_s: float) -> PipelineRun:
    """Wait for a run to end and for its DAG callback metrics to reach Prometheus.

    Args:
        name: scenario name.
        run_id: the run.
        triggered_at: unix time of the trigger.
        before: :func:`snapshot` taken before the trigger.
        timeout_s: deadline for the run.

    Returns:
        The :class:`PipelineRun` with its metric deltas (after − before).
    """
    from opsbook.airflow import client as airflow_api

    state = airflow_api.wait_for_run(DAG_ID, run_id, timeout_s=timeout_s)
    run = next(r for r in airflow_api.dag_runs(DAG_ID, limit=20) if r["dag_run_id"] == run_id)
    ended = datetime.fromisoformat(run["end_date"])
    after = snapshot()  # waits for this run's callback (ledger) and a scrape after it
    queued = run.get("queued_at") or run.get("start_date")
    return PipelineRun(name=name, run_id=run_id, state=state, ended_at=ended.timestamp(),
                       queued_at=(datetime.fromisoformat(queued).timestamp() if queued
                                  else triggered_at),
                       seconds=round(ended.timestamp() - triggered_at, 1),
                       deltas={k: round(after[k] - before.get(k, 0.0), 4) for k in after},
                       after=after)


def wait_sla_violation(before: dict[str, float], timeout_s: float) -> float:
    """Wait until ``sla_violations`` of the DAG grew; returns the unix time it was seen."""
    expr = _metric_expr(catalog.get("sla_violations"))
    target = before["airflow_pipeline_sla_violations"] + 1
    prom.wait_for(expr, lambda f: not f.empty and f["value"].sum() >= target,
                  timeout_s=timeout_s)
    return time.time()


def runs_frame(results: list[PipelineRun]) -> pd.DataFrame:
    """One row per scenario with the deltas that matter for the day."""
    short = {"airflow_pipeline_dag_success": "exitosas", "airflow_pipeline_dag_failure":
             "fallidas", "airflow_pipeline_extract_records": "extraídos",
             "airflow_pipeline_transform_errors": "cuarentena",
             "airflow_pipeline_load_records_loaded": "cargados",
             "airflow_pipeline_sla_violations": "violaciones_sla",
             "airflow_dagrun_failed_count": "fallidas_airflow"}
    rows = []
    for r in results:
        row = {"escenario": r.name, "estado": r.state, "duración_s": r.seconds}
        row |= {label: r.deltas.get(metric, 0.0) for metric, label in short.items()}
        row["calidad"] = r.after["airflow_pipeline_transform_quality"]
        rows.append(row)
    return pd.DataFrame(rows)


def panel_results(expressions: list[tuple[str, str]]) -> pd.DataFrame:
    """Evaluate each ``(title, expr)`` now: number of series and whether any value is NaN."""
    rows = []
    for title, expr in expressions:
        frame = prom.query(expr)
        rows.append({"panel": title, "series": len(frame),
                     "valores_validos": bool(len(frame)) and bool(frame["value"].notna().all())})
    return pd.DataFrame(rows)


def promtool_tests() -> dict[str, Any]:
    """Run ``promtool test rules`` on the committed rule tests; returns counts and the output."""
    tests = sorted((settings.monitoring_dir / "prometheus" / "tests").glob("*.yml"))
    exe = shutil.which("promtool") or "/usr/bin/promtool"
    proc = subprocess.run([exe, "test", "rules", *map(str, tests)], capture_output=True,
                          text=True, timeout=120)
    cases = sum(p.read_text().count("eval_time:") for p in tests)
    return {"ok": proc.returncode == 0, "files": len(tests), "cases": cases,
            "output": (proc.stdout + proc.stderr).strip()}


def answers(s: dict[str, Any]) -> str:
    """Spanish answers to the day's verification questions, built from measured figures."""
    return f"""
**1. ¿Qué métricas importan más en una tubería de datos frente a una aplicación web?**

En una web se mira la experiencia en tiempo real: latencia por petición, errores HTTP, tráfico.
Un pipeline no tiene usuarios esperando una respuesta; lo que importa es si **los datos
llegaron, completos, correctos y a tiempo**. Hoy lo medimos: la ejecución limpia cargó
{s['limpia_cargados']:.0f} filas con calidad {s['limpia_calidad']:.2f}; la sucia mandó
{s['sucia_cuarentena']:.0f} filas a cuarentena (calidad {s['sucia_calidad']:.3f}) **y aun así
terminó en `success`**: sin la métrica de calidad ese problema sería invisible, como lo sería
para un monitor web que solo mira si el proceso responde. La ejecución con el deadline tardó
{s['deadline_s']:.0f} s frente a un SLA de {s['sla_s']:.0f} s, y {s['sla_missed_runs']} de las
{len(s['runs'])} ejecuciones de hoy incumplieron su deadline (en una máquina cargada también las
"normales"): la puntualidad (frescura) es una métrica de primera clase en datos.
Por eso el dashboard tiene éxito/fallo, duración por etapa, registros por etapa, rendimiento,
calidad, errores por componente y SLA
({s['metrics_covered']} métricas del catálogo), más la salud de Airflow (latidos del
scheduler, errores de importación).

**2. ¿Cuándo escalar de advertencia a crítica?**

Según el impacto y la persistencia, no por la mera existencia de un error. El primer fallo es
**warning**: la alerta `PipelineDagFailed` llegó al webhook {s['alert_latency_s']:.1f} s después
del fallo (suelo físico: `for` {s['for_s']:.0f} s + `group_wait` {s['group_wait_s']:.0f} s) y
se resolvió sola {s['alert_resolve_s']:.0f} s después, sin despertar a nadie. Pasa a **critical**
cuando persiste: dos fallos en 15 min sin un éxito (`PipelineDagFailingRepeatedly`), dos
incumplimientos de SLA en 30 min, tres errores de carga en 10 min (los reintentos se agotan),
más del 25 % de filas en cuarentena, 2 h sin datos nuevos, o el scheduler sin latir (el
pipeline entero parado, crítica desde el primer momento). Los {s['promtool_cases']} casos de
`promtool test rules` prueban cada umbral: dispara, no dispara, se resuelve y escala.
""".strip()
