"""pipeline_ventas: the instrumented daily sales ETL that every day of the course operates.

Tasks (paths and counts travel through XCom, never rows):

    validate_params ─► generate_landing ─► extract ─► transform ─► load
           └──────────► customers ────────────────────────────────┘

* ``validate_params`` checks the run params (Spanish message, fails without retry) and sends a
  0-increment of every catalog counter so each series exists at 0 before any failure
  (Prometheus ``increase()`` ignores the first sample of a series).
* ``generate_landing`` writes ``var/landing/ventas_<ds>.csv`` unless a file is already there: a
  file dropped by hand (no manifest) is always kept; a generated one is rewritten only when the
  params differ.
* ``extract`` / ``transform`` / ``load`` call :mod:`opsbook.pipeline.etl` (the same functions
  ``opsbook pipeline run`` calls) and emit the stage metrics.
* ``customers`` loads the customer dimension of the date (:mod:`opsbook.pipeline.customers`).

Load gate: a landing file this run did not generate from its own params (a file dropped in the
landing folder by the upstream) may not replace the date's rows with nothing or with far fewer
rows; ``load`` then fails without retries (the date keeps its rows) unless the run has
``forzar=true``, which is logged. A file generated from this run's params is the size the
operator asked for, so it loads as requested.

DAG success / failure / duration come from DAG-level callbacks, not from a final task: a
final task cannot report a failed run without either turning the run green (a succeeding leaf
marks the run success) or failing itself, and it never runs when the run fails for other
reasons (timeout, marked failed by an operator). The callbacks see the real final state; they
run 1-2 s later in a child of the dag-processor, so they initialise the stats client
themselves (:func:`opsbook.observability.pipeline_metrics.init_stats`). The price: the
dag-processor must parse this file again to run them, and a parse that fails (e.g. the 30 s
import timeout on an overloaded machine) loses that run's callback; hence the light top-level
imports below.

Top-level imports are only Airflow and light opsbook modules: pandas, numpy and pandera are
imported inside the tasks, so parsing the file stays fast even on a loaded machine (the
dag-processor and every task start parse it, with a 30 s import timeout).

SLA: a ``DeadlineAlert`` ``settings.sla_seconds`` after the run is queued; its async callback
runs in the triggerer and counts ``sla_violations``. ``slow_seconds`` makes transform wait to
force a miss; with ``until_sla_miss`` the wait ends as soon as the callback has counted this
run's miss (its ``sla_missed`` line in the callback ledger), so the run is late by what the
deadline machinery needs, not by a fixed margin.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from airflow.sdk import (
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    Param,
    dag,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException
from opsbook.observability import pipeline_metrics
from opsbook.observability.pipeline_metrics import emit
from opsbook.pipeline import params as pipeline_params
from opsbook.settings import settings

DAG_ID = "pipeline_ventas"


def _ds() -> str:
    """Date processed by this run: logical date, else run_after (manual runs have none)."""
    run = get_current_context()["dag_run"]
    return (run.logical_date or run.run_after).date().isoformat()


def _params() -> pipeline_params.RunParams:
    return pipeline_params.parse(get_current_context()["params"])


@dag(
    dag_id=DAG_ID,
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["opsbook", "ventas", "etl"],
    default_args={
        "owner": "equipo-datos",
        "retries": 2,
        "retry_delay": timedelta(seconds=settings.retry_delay_s),
    },
    params={
        name: Param(value, description=pipeline_params.DESCRIPTIONS[name])
        for name, value in pipeline_params.DEFAULTS.model_dump().items()
    },
    on_success_callback=pipeline_metrics.on_dag_success,
    on_failure_callback=pipeline_metrics.on_dag_failure,
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=settings.sla_seconds),
        callback=AsyncCallback(pipeline_metrics.record_sla_violation, kwargs={"dag_id": DAG_ID}),
    ),
    doc_md=__doc__,
)
def pipeline_ventas():
    @task
    def validate_params() -> dict:
        """Fail fast on a bad param (no retry); create every counter series at 0.

        Keeps the default retries: an infrastructure hiccup (e.g. a cold execution API) is
        retried, while ``AirflowFailException`` for a bad param skips the retries.
        """
        try:
            params = _params()
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from exc
        pipeline_metrics.zero_counters(DAG_ID)
        return params.model_dump()

    @task
    def generate_landing(run_params: dict) -> dict:
        """Write the landing file of the date unless a suitable one is already there."""
        from opsbook.pipeline import datagen

        ds, p = _ds(), pipeline_params.RunParams(**run_params)
        path = datagen.landing_path(ds)
        manifest = datagen.read_manifest(path) if path.exists() else None
        wanted = {"n_rows": p.n_rows, "bad_fraction": p.bad_fraction, "seed": p.seed,
                  "drift": p.drift}
        if path.exists() and (manifest is None or manifest["params"] == wanted):
            return {"path": str(path), "generated": False, "manifest": manifest,
                    "requested": manifest is not None}
        landing = datagen.generate(ds, **wanted)
        return {"path": str(path), "generated": True, "manifest": landing.to_json(),
                "requested": True}

    @task
    def extract(landing: dict) -> dict:
        """Copy the landing file to staging and count its records."""
        from opsbook.pipeline import etl

        p = _params()
        try:
            result = etl.extract(_ds(), fail=p.fail_at == "extract")
        except etl.ExtractError:
            emit("extract_errors", 1, DAG_ID)
            raise
        emit("extract_records", result.records, DAG_ID)
        emit("extract_duration", result.seconds, DAG_ID)
        return {**result.to_dict(), "requested": bool(landing.get("requested"))}

    @task
    def transform(extracted: dict) -> dict:
        """Validate in chunks, quarantine bad rows with a reason, dedupe, measure quality."""
        from opsbook.observability import callback_ledger
        from opsbook.pipeline import etl

        p = _params()
        result = etl.transform(extracted["raw_path"], _ds(), fail=p.fail_at == "transform")
        deadline = time.monotonic() + p.slow_seconds
        run_id = get_current_context()["run_id"]
        while time.monotonic() < deadline:  # deliberate slowness for the SLA drill
            if p.until_sla_miss and callback_ledger.sla_missed(DAG_ID, run_id):
                break  # the miss is counted: waiting longer shows nothing more
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
        if result.quality is not None:  # a file without data rows has no quality to report
            emit("transform_quality", result.quality, DAG_ID)
        emit("transform_output_records", result.valid, DAG_ID)
        emit("transform_errors", result.quarantined, DAG_ID)
        return {**result.to_dict(), "requested": bool(extracted.get("requested"))}

    @task
    def customers(run_params: dict) -> dict:
        """Load the customer dimension of the date (sales reference its customer ids)."""
        from opsbook.pipeline.customers import load_customers

        return load_customers(_ds())

    @task
    def load(transformed: dict, customer_counts: dict) -> dict:
        """Replace the date in the warehouse in one transaction (idempotent)."""
        from opsbook.pipeline import etl

        p = _params()
        try:
            result = etl.load(transformed["staging_db"], _ds(), fail=p.fail_at == "load",
                              forzar=p.forzar, gate=not transformed.get("requested"))
        except etl.LoadRefused as exc:  # retrying cannot change the file: fail, keep the rows
            raise AirflowFailException(str(exc)) from exc
        except Exception:
            emit("load_errors", 1, DAG_ID)
            raise
        emit("load_records_loaded", result.rows_loaded, DAG_ID)
        emit("load_duration", result.seconds, DAG_ID)
        emit("load_throughput", result.throughput, DAG_ID)
        return result.to_dict()

    run_params = validate_params()
    staged = transform(extract(generate_landing(run_params)))
    load(staged, customers(run_params))


pipeline_ventas()
