"""P7: warehouse load with the pipeline's loader (COPY) vs naive row-by-row INSERT, and the
peak memory of transform on 1 M vs 5 M rows (chunked: bounded, not proportional).

Everything is measured in this run, on the real PostgreSQL at 127.0.0.1:5432 (a throw-away
database ``ob_pipeline_bench`` created and dropped here) and under a throw-away var folder.

* Loader: ``opsbook.pipeline.etl.load`` (one transaction, ``COPY ... FROM STDIN`` through psycopg 3)
  loading the ~1 M valid rows of a generated file.
* Baseline: one ``INSERT`` per row (``cursor.execute``) in one transaction, on a sample of
  ``NAIVE_SAMPLE`` rows of the same staged data; rows/s is extrapolated to the full size.
* Memory: ``etl.transform`` in a fresh subprocess per file size, peak RSS from
  ``getrusage``; the naive alternative (``pandas.read_csv`` of the whole file) is shown too.

Usage: ``.venv/bin/python bench/etl_load.py [--rows 1000000] [--big-rows 5000000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAIVE_SAMPLE = 20_000
PG_URL = "postgresql://postgres@127.0.0.1:5432/ob_pipeline_bench"
DS = "2026-06-01"

CHILD = r"""
import json, resource, sys, time
from opsbook.pipeline import datagen
from opsbook.pipeline import etl
mode, rows, ds = sys.argv[1], int(sys.argv[2]), sys.argv[3]
landing = datagen.landing_path(ds)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if mode == "generate":  # own process, so its memory never counts for transform
    extra = {"expected_valid": datagen.generate(ds, n_rows=rows, bad_fraction=0.02,
                                                seed=1).valid_rows}
elif mode == "transform":
    raw = etl.extract(ds)
    out = etl.transform(raw.raw_path, ds)
    extra = {"valid": out.valid, "quarantined": out.quarantined,
             "staging_db": out.staging_db}
else:  # naive: the whole file in one DataFrame
    import pandas as pd
    frame = pd.read_csv(landing, dtype=str)
    extra = {"rows": len(frame)}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("RESULT " + json.dumps({"peak_mib": peak / 1024, "import_mib": base / 1024,
                              "seconds": time.perf_counter() - t, **extra}))
"""


def child(mode: str, rows: int, ds: str, var: Path) -> dict:
    env = {**os.environ, "OPSBOOK_VAR_DIR": str(var), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(rows), ds], env=env,
                          capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"{mode} {rows} falló:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def naive_insert(url: str, staging_db: str, limit: int) -> tuple[int, float]:
    import psycopg
    from opsbook.pipeline import etl, warehouse

    chunk = next(etl.staged_chunks(staging_db, chunk_rows=limit))
    chunk = chunk.assign(logical_date="2026-06-02")
    cols = ", ".join(chunk.columns)
    marks = ", ".join(["%s"] * len(chunk.columns))
    rows = list(chunk.astype(object).where(chunk.notna(), None).itertuples(index=False,
                                                                           name=None))
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for row in rows:
            cur.execute(f"INSERT INTO {warehouse.SALES} ({cols}) VALUES ({marks})", row)
    return len(rows), time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=5_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ob-bench-etl-") as tmp:
        var = Path(tmp) / "var"
        os.environ["OPSBOOK_VAR_DIR"] = str(var)
        sys.path.insert(0, str(ROOT / "lib"))
        from opsbook.pipeline import etl, warehouse

        t0 = time.perf_counter()
        gen = child("generate", args.rows, DS, var)
        print(f"generar {args.rows:,} filas: {gen['seconds']:.1f} s")
        small = child("transform", args.rows, DS, var)
        print(f"transform {args.rows:,} filas: {small['seconds']:.1f} s, "
              f"pico RSS {small['peak_mib']:.0f} MiB ({small['valid']:,} válidas)")
        warehouse.ensure_database(PG_URL)
        wh = warehouse.Warehouse(PG_URL)
        try:
            res = etl.load(small["staging_db"], DS, wh).to_dict()
            copy_rps = res["rows_loaded"] / res["seconds"]
            print(f"carga COPY (etl.load): {res['rows_loaded']:,} filas en {res['seconds']:.1f} s"
                  f" → {copy_rps:,.0f} filas/s")
            n, secs = naive_insert(PG_URL, small["staging_db"], NAIVE_SAMPLE)
            naive_rps = n / secs
            total = res["rows_loaded"]
            print(f"INSERT fila a fila (muestra de {n:,}): {secs:.1f} s → {naive_rps:,.0f} filas/s"
                  f" (extrapolado a {total:,}: {total / naive_rps:.0f} s)")
            print(f"RATIO carga COPY / INSERT fila a fila: {copy_rps / naive_rps:.1f}x "
                  "(objetivo ≥ 10x)")
        finally:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                                 autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS ob_pipeline_bench WITH (FORCE)")
        whole = child("naive_read", args.rows, DS, var)
        print(f"referencia: read_csv del fichero entero ({args.rows:,}): pico RSS "
              f"{whole['peak_mib']:.0f} MiB")
        gen = child("generate", args.big_rows, "2026-06-03", var)
        print(f"generar {args.big_rows:,} filas: {gen['seconds']:.1f} s")
        big = child("transform", args.big_rows, "2026-06-03", var)
        print(f"transform {args.big_rows:,} filas: {big['seconds']:.1f} s, "
              f"pico RSS {big['peak_mib']:.0f} MiB ({big['valid']:,} válidas)")
        growth = big["peak_mib"] / small["peak_mib"]
        print(f"RATIO pico RSS {args.big_rows // 1_000_000} M / {args.rows // 1_000_000} M filas: "
              f"{growth:.2f}x para {args.big_rows / args.rows:.0f}x filas (acotado si ≈ 1)")
        print(f"total del bench: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
