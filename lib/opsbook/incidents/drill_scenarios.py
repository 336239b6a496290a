"""The three drill scenarios: pipeline_down, data_corruption, db_unreachable.

Why this module exists: :mod:`opsbook.incidents.drill_kit` holds the shared machinery (record,
waits, preconditions, clean-up); this module holds only the script of each scenario — what fault is
injected, what the drill waits for, and which row counts prove that nothing was lost. Every
scenario ends in ``finally`` by undoing its fault and restoring the stack.
"""

from __future__ import annotations

from opsbook.airflow import client as airflow_api
from opsbook.incidents import delegated
from opsbook.incidents.drill_kit import (
    DAG_ID,
    Drill,
    DrillResult,
    kill_scheduler,
    restore_stack,
    today,
)
from opsbook.incidents.outcome import Step
from opsbook.pipeline import datagen
from opsbook.pipeline.warehouse import QUARANTINE, SALES, open_warehouse


def _counts(ds: str) -> dict[str, int]:
    wh = open_warehouse()
    return {"cargadas": wh.count(SALES, ds), "en_cuarentena": wh.count(QUARANTINE, ds)}


def _drop_landing(ds: str, n_rows: int, bad_fraction: float) -> None:
    """Write a landing file 'by hand' (no manifest: the pipeline keeps it as it is)."""
    path = datagen.landing_path(ds)
    datagen.generate(ds, n_rows=n_rows, bad_fraction=bad_fraction, seed=7, path=path)
    datagen.manifest_path(path).unlink(missing_ok=True)


def _wait_tasks(run_id: str, tasks: tuple[str, ...], timeout_s: float) -> None:
    """Poll until every task in ``tasks`` of the run succeeded (bounded)."""
    from opsbook.incidents.diagnostics import state_of
    from opsbook.waiting import wait_until

    def states() -> dict[str, str]:
        now = {t["task_id"]: state_of(t.get("state"))
               for t in airflow_api.task_instances(DAG_ID, run_id)}
        if any(v == "failed" for v in now.values()):
            raise RuntimeError(f"la ejecución {run_id} falló antes del simulacro: {now}")
        return now

    wait_until(states, timeout_s, 0.5, f"terminen las tareas {', '.join(tasks)} de {run_id}",
               until=lambda now: all(now.get(name) == "success" for name in tasks))


def _clear_landing(ds: str) -> None:
    path = datagen.landing_path(ds)
    path.unlink(missing_ok=True)
    datagen.manifest_path(path).unlink(missing_ok=True)


def pipeline_down(d: Drill, n_rows: int = 1000, timeout_s: float = 900.0,
                  with_run: bool = True, actions: dict[str, Step] | None = None,
                  owner: str | None = None) -> DrillResult:
    """Kill -9 the scheduler, trigger a run that must wait, let the runbook restart it.

    The scheduler's orphaned children (LocalExecutor workers) are reaped right after the
    kill and reported (``reaped`` in the result; a survivor makes the drill fail).

    MTTR = from the kill to the runbook's verification (new scheduler heartbeating).
    ``with_run=False`` (the MTTR bench) skips the delayed DAG run. With ``actions`` (a
    student's steps, see :mod:`opsbook.incidents.delegated`) the stack's automation is off
    during the drill and those steps answer the alert, in an incident labelled ``owner``.
    """
    ok, ds = False, today()
    d.record.update({"ds": ds, "rows_expected": n_rows})
    if actions is not None:
        delegated.suspend()
    try:
        kill = kill_scheduler()
        pid = kill["pid"]
        d.record["fault_at"] = d.event("kill -9 del scheduler", True, {"pid": pid},
                                       at=kill["killed_at"])
        d.record["reaped"] = {k: kill[k] for k in ("orphans", "terminated", "killed",
                                                   "survivors")}
        d.event("hijos huérfanos del scheduler recogidos", not kill["survivors"],
                {"huerfanos": len(kill["orphans"]), "con_sigterm": len(kill["terminated"]),
                 "con_sigkill": len(kill["killed"]), "tardios": kill["late_orphans"],
                 "supervivientes": kill["survivors"]})
        d.record["root_cause"] = (f"Proceso scheduler (pid {pid}) terminado con SIGKILL: sin "
                                  "scheduler ninguna ejecución nueva se programa")
        run_id = None
        if with_run:
            run_id = airflow_api.trigger_dag(DAG_ID, {"n_rows": n_rows, "bad_fraction": 0.0})
            d.event("ejecución disparada durante la caída", True, {"run_id": run_id})
        if actions is None:
            inc = d.wait_incident("pipeline_down", d.record["fault_at"] - 1, timeout_s)
            d.event("incidente abierto por la alerta", True, {"incidente": inc.id})
            inc = d.wait_until(lambda i: i.finished, timeout_s, "recuperado o escalado")
        else:
            inc = delegated.respond(d, "pipeline_down", d.record["fault_at"] - 1, timeout_s,
                                    actions, owner or "anonimo")
        d.record["healthy_at"] = inc.recovered_at
        if run_id is None:
            ok = inc.status == "recovered" and not kill["survivors"]
            d.record.pop("rows_expected")
            return d.result(ok, [])
        state = airflow_api.wait_for_run(DAG_ID, run_id, timeout_s)
        counts = _counts(ds)
        d.record["rows_loaded"] = counts["cargadas"]
        d.add_run(run_id, counts["cargadas"])
        d.event("la ejecución retrasada terminó", state == "success",
                {"run_id": run_id, "estado": state, **counts})
        ok = (inc.status == "recovered" and state == "success" and counts["cargadas"] == n_rows
              and not kill["survivors"])
    finally:
        broken = restore_stack()
        if actions is not None:
            delegated.finish(d)
        d.event("pila sana al terminar" if not broken else "pila con fallos", not broken,
                broken or None)
    return d.result(ok, broken)


def data_corruption(d: Drill, n_rows: int = 2000, bad_fraction: float = 0.3,
                    timeout_s: float = 900.0) -> DrillResult:
    """Drop a corrupt landing file; quarantine, quality alert, fix, rerun, nothing lost."""
    ok, ds = False, today()
    d.record.update({"ds": ds, "rows_expected": n_rows})
    try:
        _drop_landing(ds, n_rows, bad_fraction)
        d.record["fault_at"] = d.event("archivo de aterrizaje corrupto depositado", True,
                                       {"ds": ds, "filas": n_rows, "fraccion_mala": bad_fraction})
        d.record["root_cause"] = (f"El proveedor entregó ventas_{ds}.csv con "
                                  f"{bad_fraction:.0%} de filas defectuosas (tipos, fechas, "
                                  "monedas, duplicados)")
        run_id = airflow_api.trigger_dag(DAG_ID, {})
        d.event("ejecución con el archivo corrupto", True, {"run_id": run_id})
        inc = d.wait_incident("data_corruption", d.record["fault_at"] - 1, timeout_s)
        inc = d.wait_until(lambda i: "quarantine_report" in i.diagnosis, timeout_s,
                           "diagnosticado")
        first = inc.diagnosis["quarantine_report"]["detail"]
        d.record["first_load"] = first
        accounted = first["cargadas"] + first["en_cuarentena"]
        d.event("primera carga: filas cargadas + en cuarentena", accounted == n_rows,
                {**first, "suma": accounted})
        d.add_run(run_id, first["cargadas"])
        _drop_landing(ds, n_rows, 0.0)
        d.event("el proveedor corrige el archivo", True, {"filas": n_rows})
        inc = d.wait_until(lambda i: i.finished, timeout_s, "recuperado o escalado")
        d.record["healthy_at"] = inc.recovered_at
        counts = _counts(ds)
        d.record["rows_loaded"] = counts["cargadas"]
        d.event("recarga tras la corrección", counts["cargadas"] == n_rows, counts)
        ok = (inc.status == "recovered" and accounted == n_rows
              and counts["cargadas"] == n_rows and counts["en_cuarentena"] == 0)
    finally:
        _clear_landing(ds)
        broken = restore_stack()
        d.event("pila sana al terminar" if not broken else "pila con fallos", not broken,
                broken or None)
    return d.result(ok, broken)


def db_unreachable(d: Drill, n_rows: int = 1500, timeout_s: float = 900.0) -> DrillResult:
    """The warehouse refuses connections during the load: retries, alert, no partial load."""
    ok, ds, wh = False, today(), open_warehouse()
    before = _counts(ds)["cargadas"]
    d.record.update({"ds": ds, "rows_expected": n_rows, "rows_before": before})
    try:
        run_id = airflow_api.trigger_dag(DAG_ID, {"n_rows": n_rows, "bad_fraction": 0.0})
        d.event("ejecución disparada", True, {"run_id": run_id})
        # cut the warehouse right before `load` (customers also writes to it, earlier)
        _wait_tasks(run_id, ("transform", "customers"), timeout_s)
        wh.set_reachable(False)
        d.record["fault_at"] = d.event("almacén inaccesible justo antes de la carga", True,
                                       {"motor": wh.dialect, "filas_previas": before})
        d.record["root_cause"] = (f"El almacén ({wh.dialect}) rechazó las conexiones durante la "
                                  "carga; los reintentos de la tarea se agotaron")
        inc = d.wait_incident("db_unreachable", d.record["fault_at"] - 1, timeout_s)
        state = airflow_api.wait_for_run(DAG_ID, run_id, timeout_s)
        tries = {t["task_id"]: t.get("try_number")
                 for t in airflow_api.task_instances(DAG_ID, run_id) if t["task_id"] == "load"}
        d.event("reintentos agotados, ejecución fallida", state == "failed",
                {"estado": state, "intentos_load": tries.get("load")})
        wh.set_reachable(True)
        after_outage = _counts(ds)["cargadas"]
        d.event("el almacén vuelve; sin carga parcial", after_outage == before,
                {"filas_previas": before, "filas_tras_fallo": after_outage})
        inc = d.wait_until(lambda i: i.finished, timeout_s, "recuperado o escalado")
        d.record["healthy_at"] = inc.recovered_at
        counts = _counts(ds)
        d.record["rows_loaded"] = counts["cargadas"]
        d.add_run(run_id, counts["cargadas"])
        d.event("carga completa tras la recuperación", counts["cargadas"] == n_rows, counts)
        ok = (inc.status == "recovered" and after_outage == before
              and counts["cargadas"] == n_rows)
    finally:
        wh.set_reachable(True)
        broken = restore_stack()
        d.event("pila sana al terminar" if not broken else "pila con fallos", not broken,
                broken or None)
    return d.result(ok, broken)
