"""Validation + upgrade throughput of customer records vs plain per-record validation.

Both measured in this run on the same 1 M legacy records (a v1/v2/v3 mix, 60/30/10 %):

* baseline: plain per-record validation with fastavro (``fastavro.validation.validate`` of each
  record against its version's parsed schema, ``raise_errors=False``) — validation only.
* opsbook: :func:`opsbook.pipeline.versioning.validate_and_upgrade` per version — validates every
record
  (collecting Spanish errors that name record, field, expected and received type) AND upgrades
  the valid ones to v3.
* opsbook validation only (``SchemaRegistry.validate``), to separate the two costs.

Prints records/s of each and the ratios against the baseline (> 1 = faster than the baseline).

Usage: .venv/bin/python bench/schema_upgrade.py [--records 1000000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from fastavro.validation import validate  # noqa: E402
from opsbook.pipeline.schema_registry import registry  # noqa: E402
from opsbook.pipeline.versioning import legacy_mix, validate_and_upgrade  # noqa: E402


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    reg = registry()
    n = args.records
    sizes = {1: n * 6 // 10, 2: n * 3 // 10}
    sizes[3] = n - sizes[1] - sizes[2]
    t0 = time.perf_counter()
    batches = legacy_mix(sizes, seed=1)
    print(f"generados {n:,} registros legacy {dict(sizes)} en {time.perf_counter() - t0:.1f} s")

    def baseline():
        bad = 0
        for version, records in batches.items():
            schema = reg.get(version).schema.parsed
            bad += sum(not validate(r, schema, raise_errors=False) for r in records)
        return bad

    def ours_validate():
        return sum(len(reg.validate(records, version)) for version, records in batches.items())

    def ours_full():
        upgraded, errors = 0, 0
        for version, records in batches.items():
            out, errs = validate_and_upgrade(records, version, reg)
            upgraded, errors = upgraded + len(out), errors + len(errs)
        return upgraded, errors

    t_base, bad = best_of(args.repeat, baseline)
    t_val, val_errors = best_of(args.repeat, ours_validate)
    t_full, (upgraded, errors) = best_of(args.repeat, ours_full)
    assert bad == val_errors == errors == 0 and upgraded == n, (bad, val_errors, errors, upgraded)
    rows = [
        ("línea base: fastavro validate por registro", t_base),
        ("opsbook: validación (errores en español)", t_val),
        ("opsbook: validación + upgrade a v3", t_full),
    ]
    print(f"{'medición':<46} {'segundos':>9} {'registros/s':>13} {'ratio vs base':>14}")
    for name, seconds in rows:
        print(f"{name:<46} {seconds:>9.2f} {n / seconds:>13,.0f} {t_base / seconds:>13.2f}x")
    print(f"RATIO validación+upgrade / línea base (registros/s): {t_base / t_full:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
