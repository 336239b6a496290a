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

from opsbook.customer_files import legacy_records, write_customer_file
from opsbook.schema_registry import SCHEMA_DIR, registry

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


def load_via_dag(timeout_s: float, n_rows: int = 500, poll_s: float = 2.0) -> dict[str, Any]:
    """Trigger ``pipeline_ventas`` (small sales file) and wait for its ``customers`` task.

    Only the customer task matters here, so the wait ends as soon as it reaches a final state
    (the sales tasks of the same run may still be running). ``max_active_runs=1``: the run may
    first queue behind the day's scheduled run.

    Args:
        timeout_s: deadline for the ``customers`` task to finish.
        n_rows: sales rows the run generates (kept small).
        poll_s: polling interval.

    Returns:
        ``run_id``, ``ds`` (the processed date), ``customers_state`` and ``seconds`` waited.

    Raises:
        TimeoutError: the task is not finished by the deadline (message has the last state).
    """
    import time

    from opsbook import airflow_api

    start = time.monotonic()
    run_id = airflow_api.trigger_dag("pipeline_ventas", conf={"n_rows": n_rows})
    final = {"success", "failed", "upstream_failed", "skipped", "removed"}
    state = "none"
    while True:
        tasks = {t["task_id"]: t for t in airflow_api.task_instances("pipeline_ventas", run_id)}
        state = _state(tasks.get("customers", {}).get("state"))
        if state in final:
            break
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"la tarea customers de {run_id} sigue en '{state}' tras "
                               f"{timeout_s:.0f} s: revisa opsbook stack status")
        time.sleep(poll_s)
    run = next(r for r in airflow_api.dag_runs("pipeline_ventas", limit=20)
               if r["dag_run_id"] == run_id)
    when = run.get("logical_date") or run.get("run_after")
    ds = when.date().isoformat() if hasattr(when, "date") else str(when)[:10]
    return {"run_id": run_id, "ds": ds, "customers_state": state,
            "seconds": round(time.monotonic() - start, 1)}


def schema_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``opsbook schema <args>`` in a subprocess, as a user or a CI job would."""
    return subprocess.run([sys.executable, "-m", "opsbook.cli", "schema", *args],
                          capture_output=True, text=True, timeout=120)


def schema_path(name: str) -> str:
    """Absolute path of a packaged schema file (``clientes_v3.avsc``...)."""
    return str(SCHEMA_DIR / name)
