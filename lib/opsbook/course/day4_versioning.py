"""Helpers of the Día 4 versioning section: parameters, demo landing files, DAG run, CLI calls.

Why this module exists: notebook cells only narrate, call, display and assert. The few steps
of the versioning section that are more than one call (checking the parameters, writing a
realistic mix of legacy landing files, running ``pipeline_ventas`` and reading back the
customer table, calling the ``opsbook schema`` command as a user would) live here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook.pipeline.customer_files import legacy_records, write_customer_file
from opsbook.pipeline.schema_registry import SCHEMA_DIR, registry

ROUTES = ("dag", "directa")


def validate_params(n_v1: int, n_v2: int, n_v3: int, semilla: int, ruta_carga: str,
                    timeout_dag_s: float) -> None:
    """Check the notebook parameters of the versioning section.

    Raises:
        ValueError: naming the parameter and what to change.
    """
    for name, value in (("n_v1", n_v1), ("n_v2", n_v2), ("n_v3", n_v3)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 200_000:
            raise ValueError(f"{name}={value!r}: usa un entero entre 1 y 200000 (registros legacy)")
    if not isinstance(semilla, int) or semilla < 0:
        raise ValueError(f"semilla={semilla!r}: usa un entero ≥ 0")
    if ruta_carga not in ROUTES:
        raise ValueError(f"ruta_carga={ruta_carga!r}: usa 'dag' (pipeline_ventas en el stack) o "
                         "'directa' (llamar a load_customers sin Airflow)")
    if not isinstance(timeout_dag_s, int | float) or not 30 <= timeout_dag_s <= 1800:
        raise ValueError(f"timeout_dag_s={timeout_dag_s!r}: usa entre 30 y 1800 segundos")


def fields_table() -> Any:
    """One row per (version, field): Avro type, whether it is required, default, derivation."""
    import pandas as pd

    reg = registry()
    rows = []
    for number in reg.versions:
        for f in reg.get(number).fields:
            rows.append({"version": f"v{number}", "campo": f["name"],
                         "tipo": " | ".join(f["type"]) if isinstance(f["type"], list)
                         else str(f["type"]),
                         "obligatorio": "default" not in f,
                         "default": json.dumps(f["default"]) if "default" in f else "—",
                         "derivado_de": f.get("opsbook.derived_from", "")})
    return pd.DataFrame(rows)


def write_demo_landing(folder: Path, n_v1: int, n_v2: int, n_v3: int, seed: int) -> list[Path]:
    """Write a realistic landing folder: one good file per version and two bad ones.

    Files: ``clientes_v1_legado.csv`` (v1), ``clientes_v2_crm.jsonl`` (v2),
    ``clientes_v3_app.avro`` (v3), ``clientes_v4_propuesta.avro`` (written with the rejected
    v4 proposal: incompatible) and ``clientes_v2_corrupto.jsonl`` (a v2 file with one record
    of the wrong type). Ids do not overlap between files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    paths = [
        write_customer_file(folder, legacy_records(n_v1, 1, seed, 1), 1, "csv", "legado"),
        write_customer_file(folder, legacy_records(n_v2, 2, seed, 1 + n_v1), 2, "jsonl", "crm"),
        write_customer_file(folder, legacy_records(n_v3, 3, seed, 1 + n_v1 + n_v2), 3, "avro",
                            "app"),
    ]
    import fastavro

    proposal = registry().proposal().parsed
    v4 = folder / "clientes_v4_propuesta.avro"
    with v4.open("wb") as fo:
        fastavro.writer(fo, proposal, [{"id": 999_001, "full_name": "Nora Vidal", "email": None,
                                        "updated_at": None, "phone": None}])
    bad = legacy_records(3, 2, seed, 999_100)
    bad[1]["id"] = "999101"  # an id as text: wrong type
    paths += [v4, write_customer_file(folder, bad, 2, "jsonl", "corrupto")]
    return paths


def now_iso() -> str:
    """Current UTC time as stored by the loader (ISO-8601, seconds), for freshness checks."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def today() -> str:
    """Today's UTC date, the date a manual ``pipeline_ventas`` run processes."""
    return datetime.now(UTC).date().isoformat()


def _state(value: Any) -> str:
    return str(getattr(value, "value", value)).lower() if value is not None else "none"


def load_via_dag(timeout_s: float, n_rows: int = 500, poll_s: float = 1.0) -> dict[str, Any]:
    """Trigger ``pipeline_ventas`` (small sales file), wait for its ``customers`` task and its end.

    The section reads only what the ``customers`` task loaded, but the run is waited to the end
    too: the day switches to Celery next, on another metadata database, and a run left in
    flight in the local one was finished only when the day came back to local mode, ~4 minutes
    later (measured 237.7 s from queued to end, 2026-12-07). By then it had missed its
    deadline: ``PipelineSlaMissed`` fired at the end of day 4, and the next run of day 2 (the
    next student's grading) waited for that episode to end. The sales tasks take a few seconds
    more. ``max_active_runs=1``: the run may first queue behind the day's scheduled run.

    Args:
        timeout_s: deadline for the ``customers`` task, and then for the run, to finish.
        n_rows: sales rows the run generates (kept small).
        poll_s: polling interval.

    Returns:
        ``run_id``, ``ds`` (the processed date), ``customers_state``, ``run_state`` and
        ``seconds`` waited.

    Raises:
        TimeoutError: the task or the run is not finished by the deadline (message has the
            last state).
    """
    import time

    from opsbook.airflow import client as airflow_api
    from opsbook.waiting import wait_until

    start = time.monotonic()
    run_id = airflow_api.trigger_dag("pipeline_ventas", conf={"n_rows": n_rows})
    final = {"success", "failed", "upstream_failed", "skipped", "removed"}

    def customers_state() -> str:
        tasks = {t["task_id"]: t for t in airflow_api.task_instances("pipeline_ventas", run_id)}
        return _state(tasks.get("customers", {}).get("state"))

    state = wait_until(customers_state, timeout_s, poll_s,
                       f"la tarea customers de {run_id} termine (revisa opsbook stack status)",
                       until=lambda state: state in final)
    run_state = airflow_api.wait_for_run("pipeline_ventas", run_id, timeout_s=timeout_s,
                                         poll_s=poll_s)
    run = next(r for r in airflow_api.dag_runs("pipeline_ventas", limit=20)
               if r["dag_run_id"] == run_id)
    when = run.get("logical_date") or run.get("run_after")
    ds = when.date().isoformat() if hasattr(when, "date") else str(when)[:10]
    return {"run_id": run_id, "ds": ds, "customers_state": state, "run_state": run_state,
            "seconds": round(time.monotonic() - start, 1)}


def schema_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``opsbook schema <args>`` in a subprocess, as a user or a CI job would."""
    return subprocess.run([sys.executable, "-m", "opsbook.cli.main", "schema", *args],
                          capture_output=True, text=True, timeout=120)


def schema_path(name: str) -> str:
    """Absolute path of a packaged schema file (``clientes_v3.avsc``...)."""
    return str(SCHEMA_DIR / name)


def write_section_summary(batches: dict[int, list], walk: dict[str, Any], load: dict[str, Any],
                          load_route: str, modes: Any) -> dict[str, Any]:
    """Merge the versioning section's measured results into ``evidencia/dia_4/resumen.json``.

    Args:
        batches: legacy records by version (:func:`opsbook.pipeline.versioning.legacy_mix`).
        walk: result of :func:`opsbook.pipeline.versioning.validate_upgrade_revalidate`.
        load: result of the customers load (DAG or direct route).
        load_route: ``"dag"`` or ``"directa"``.
        modes: :func:`opsbook.pipeline.versioning.mode_table` (one row per version and mode).

    Returns:
        The whole merged summary (other sections of the day included).
    """
    from opsbook.pipeline.versioning import write_summary_merged

    compat = {f"{r.version} {r.modo}": bool(r.compatible) for r in modes.itertuples()}
    v4_backward = modes.query("version == 'v4' and modo == 'BACKWARD'")
    return write_summary_merged(4, {
        "schema_compatibility": compat,
        "versioning": {
            "legacy_records": {f"v{v}": len(b) for v, b in batches.items()},
            "errors_before_upgrade": sum(len(e) for e in walk["errors_before"].values()),
            "errors_after_upgrade": len(walk["errors_after"]),
            "upgraded_records": len(walk["upgraded"]),
            "customers_loaded": load["records_loaded"],
            "customers_loaded_by_version": load["records_by_version"],
            "files_quarantined": load["files_quarantined"],
            "load_route": load_route,
            "v4_backward_compatible": compat["v4 BACKWARD"],
            "v4_rejection_reasons": int(v4_backward["n_motivos"].iloc[0]),
        },
    })


def answer(summary: dict[str, Any], cli_exit: int, v4_reasons: list[Any],
           aliased_verdicts: dict[str, bool]) -> str:
    """Spanish answer to "¿cómo asegurar la compatibilidad hacia atrás?" from measured figures.

    Args:
        summary: what :func:`write_section_summary` returned.
        cli_exit: exit code of ``opsbook schema check --mode BACKWARD`` on the v4 proposal.
        v4_reasons: the incompatibilities of v4 against v3 (each with a ``reason``).
        aliased_verdicts: verdict by mode of the v4 proposal with ``aliases``.
    """
    v = summary["versioning"]
    yes = {True: "sí", False: "no"}
    return f"""
**Respuesta, con lo medido en esta sección.**

1. **Versionar el esquema explícitamente** y hacer que cada dato diga con qué versión se
   escribió: los contenedores Avro llevan su esquema y los CSV/JSON lo declaran en el nombre.
   Así hemos validado {sum(v["legacy_records"].values())} registros legacy contra *su* versión
   con {v["errors_before_upgrade"]} errores.
2. **Solo añadir campos opcionales con valor por defecto**, nunca renombrar ni eliminar campos
   obligatorios: v2 y v3 siguen esa regla y la matriz lo confirma — v3 es compatible en
   **FULL_TRANSITIVE** con v2 y v1 (cualquier versión lee los datos de cualquier otra).
3. **Comprobar la compatibilidad de forma automática antes de publicar**: la propuesta v4
   renombra `name` y elimina `created_at`; `opsbook schema check --mode BACKWARD` la rechaza
   (salida {cli_exit}) con {len(v4_reasons)} motivo(s): «{v4_reasons[0].reason}».
   Declarando `aliases: ["name"]` en `full_name` pasa BACKWARD
   ({yes[aliased_verdicts["BACKWARD"]]}) pero no FORWARD ({yes[aliased_verdicts["FORWARD"]]}):
   habría que actualizar antes a los consumidores, o mantener `name` y `created_at` para ser FULL.
4. **Migrar de forma progresiva y explícita**: los datos antiguos se suben a la versión actual
   al cargarlos ({v["customers_loaded_by_version"].get("v1", 0)} registros v1 del CSV legado
   están ahora en la tabla v3 con `updated_at` = `created_at`), con {v["errors_after_upgrade"]}
   errores tras el upgrade; un downgrade que perdería datos se rechaza en lugar de truncar.
5. **No perder nada en silencio**: los {v["files_quarantined"]} ficheros con esquema
   incompatible o datos inválidos quedaron en cuarentena con su motivo, y el resto se cargó.
""".strip()
