"""Deterministic generator of the daily sales landing file, with defects in known numbers.

Why this module exists: every day of the course runs ``pipeline_ventas`` on a realistic sales
file. The notebooks and the tests need that file to be reproducible (same seed → same bytes)
and to carry a *known* number of defects of each kind, so that the quarantine of the pipeline
can be checked exactly: for every reason, rows quarantined == defects injected.

One bad row carries exactly one defect, so its quarantine reason is unambiguous. Rows are
written in blocks (vectorised with numpy), so millions of rows take seconds and bounded memory.
A JSON manifest next to the CSV records the parameters and the expected counts; the DAG uses
it to tell its own generated files from a file dropped by the instructor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from opsbook.settings import settings

COLUMNS: tuple[str, ...] = (
    "order_id", "ts", "customer_id", "product_id", "category", "quantity", "unit_price",
    "currency", "store_id", "region", "channel",
)
"""Columns of the landing file, in order (the pipeline's input contract)."""

REQUIRED: tuple[str, ...] = (
    "order_id", "ts", "customer_id", "product_id", "quantity", "unit_price", "currency",
    "store_id",
)
"""Columns that may not be empty."""

DEFECTS: tuple[str, ...] = (
    "missing_required", "wrong_type", "bad_date", "negative_quantity", "unknown_currency",
    "duplicate_order_id",
)
"""Row-level defect kinds; each is also the quarantine reason the pipeline must assign."""

DRIFTS: tuple[str, ...] = ("none", "extra_column", "missing_column")
"""Schema drift options: an unexpected extra column, or a missing column (every row rejected)."""

CURRENCIES = ("EUR", "USD", "MXN", "COP", "ARS", "CLP")
EXTRA_COLUMN = "coupon_code"
MISSING_COLUMN = "store_id"
_CATEGORIES = ("electronica", "hogar", "moda", "alimentacion", "deportes", "libros")
_REGIONS = ("norte", "sur", "este", "oeste", "centro")
_CHANNELS = ("tienda", "online", "app")
_WRONG_TYPES = ("dos", "N/A", "1,5", "tres")
_BAD_DATES = ("31/02/2026", "2026-13-01T10:00:00", "ayer", "2026-02-30T25:61:00")
_BAD_CURRENCIES = ("XXX", "EURO", "BTC", "usd")
BLOCK = 250_000


@dataclass(frozen=True)
class LandingFile:
    """A generated landing file and what the pipeline must find in it.

    Attributes:
        path: the CSV written.
        logical_date: ``YYYY-MM-DD``.
        rows: data rows in the file (without header).
        expected: quarantine reason → rows the pipeline must quarantine with that reason.
        valid_rows: rows the pipeline must load (``rows - sum(expected)``).
        params: generator parameters (``n_rows``, ``bad_fraction``, ``seed``, ``drift``).
    """

    path: Path
    logical_date: str
    rows: int
    expected: dict[str, int]
    valid_rows: int
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """JSON-serialisable form (the manifest)."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def landing_path(logical_date: str, landing_dir: Path | None = None) -> Path:
    """Return ``<landing_dir>/ventas_<logical_date>.csv``.

    Args:
        logical_date: ``YYYY-MM-DD``.
        landing_dir: folder (default ``settings.landing_dir``).
    """
    return (landing_dir or settings.landing_dir) / f"ventas_{logical_date}.csv"


def manifest_path(csv_path: Path) -> Path:
    """Return the manifest JSON path written next to a generated CSV."""
    return csv_path.with_suffix(".manifest.json")


def read_manifest(csv_path: Path) -> dict | None:
    """Return the manifest of a generated file, or ``None`` for a file dropped by hand."""
    path = manifest_path(csv_path)
    return json.loads(path.read_text()) if path.exists() else None


def check_args(n_rows: int, bad_fraction: float, drift: str = "none") -> None:
    """Validate generator arguments.

    Raises:
        ValueError: in Spanish, saying what to change.
    """
    if not isinstance(n_rows, int) or isinstance(n_rows, bool) or n_rows < 1:
        raise ValueError(f"n_rows={n_rows!r} inválido: usa un entero ≥ 1")
    if not 0 <= float(bad_fraction) <= 0.5:
        raise ValueError(f"bad_fraction={bad_fraction!r} inválido: usa un valor entre 0 y 0.5")
    if drift not in DRIFTS:
        raise ValueError(f"drift={drift!r} inválido: usa uno de {list(DRIFTS)}")


def _defect_plan(rng: np.random.Generator, n_rows: int, bad_fraction: float) -> np.ndarray:
    """Return an array of defect codes per row (-1 = clean), counts split evenly by kind."""
    n_bad = int(round(n_rows * bad_fraction))
    plan = np.full(n_rows, -1, dtype=np.int8)
    if n_bad:
        rows = rng.choice(n_rows, size=n_bad, replace=False)
        plan[rows] = np.arange(n_bad) % len(DEFECTS)
    return plan


def _dup_sources(rng: np.random.Generator, plan: np.ndarray, count: int) -> np.ndarray:
    """Pick ``count`` clean row indices whose order id the duplicates will reuse."""
    picked: list[np.ndarray] = []
    need = count
    while need > 0:
        cand = rng.integers(0, len(plan), size=need * 2 + 8)
        cand = cand[plan[cand] == -1][:need]
        picked.append(cand)
        need -= len(cand)
    return np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)


def _block(rng: np.random.Generator, start: int, stop: int, ds: date, plan: np.ndarray,
           dup_src: dict[int, int]) -> pd.DataFrame:
    """Build rows ``start..stop-1`` as strings, with the planned defects applied."""
    n = stop - start
    idx = np.arange(start, stop)
    prefix = f"V{ds:%Y%m%d}-"
    seconds = rng.integers(0, 86_400, size=n)
    ts = pd.Timestamp(ds) + pd.to_timedelta(seconds, unit="s")
    frame = pd.DataFrame({
        "order_id": [f"{prefix}{i:08d}" for i in idx],
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%S"),
        "customer_id": [f"C{c:06d}" for c in rng.integers(1, 50_000, size=n)],
        "product_id": [f"P{p:05d}" for p in rng.integers(1, 5_000, size=n)],
        "category": np.array(_CATEGORIES)[rng.integers(0, len(_CATEGORIES), size=n)],
        "quantity": rng.integers(1, 10, size=n).astype(str),
        "unit_price": np.char.mod("%.2f", rng.uniform(1, 500, size=n).round(2)),
        "currency": np.array(CURRENCIES)[rng.integers(0, len(CURRENCIES), size=n)],
        "store_id": [f"T{s:03d}" for s in rng.integers(1, 120, size=n)],
        "region": np.array(_REGIONS)[rng.integers(0, len(_REGIONS), size=n)],
        "channel": np.array(_CHANNELS)[rng.integers(0, len(_CHANNELS), size=n)],
    }, dtype=object)
    codes = plan[start:stop]
    for code, kind in enumerate(DEFECTS):
        rows = np.flatnonzero(codes == code)
        if not len(rows):
            continue
        pick = rng.integers(0, 1 << 30, size=len(rows))
        if kind == "missing_required":
            cols = np.array(REQUIRED)[pick % len(REQUIRED)]
            for r, col in zip(rows, cols, strict=True):
                frame.iat[r, COLUMNS.index(col)] = ""
        elif kind == "wrong_type":
            col = np.where(pick % 2 == 0, COLUMNS.index("quantity"), COLUMNS.index("unit_price"))
            for r, c, p in zip(rows, col, pick, strict=True):
                frame.iat[r, c] = _WRONG_TYPES[p % len(_WRONG_TYPES)]
        elif kind == "bad_date":
            frame.iloc[rows, COLUMNS.index("ts")] = np.array(_BAD_DATES)[pick % len(_BAD_DATES)]
        elif kind == "negative_quantity":
            frame.iloc[rows, COLUMNS.index("quantity")] = (-(pick % 5 + 1)).astype(str)
        elif kind == "unknown_currency":
            frame.iloc[rows, COLUMNS.index("currency")] = np.array(_BAD_CURRENCIES)[
                pick % len(_BAD_CURRENCIES)]
        elif kind == "duplicate_order_id":
            frame.iloc[rows, 0] = [f"{prefix}{dup_src[start + r]:08d}" for r in rows]
    return frame


def generate(logical_date: str, n_rows: int = 2000, bad_fraction: float = 0.05, seed: int = 42,
             drift: str = "none", path: Path | None = None) -> LandingFile:
    """Write the landing CSV of one logical date and its manifest.

    Args:
        logical_date: ``YYYY-MM-DD``; timestamps fall inside that day.
        n_rows: data rows to write (bad ones included).
        bad_fraction: share of rows (0..0.5) carrying exactly one defect, split evenly by kind.
        seed: random seed; same arguments → identical file.
        drift: ``none``, ``extra_column`` (adds ``coupon_code``: tolerated and dropped) or
            ``missing_column`` (drops ``store_id``: every row is quarantined).
        path: output file (default :func:`landing_path`).

    Returns:
        The :class:`LandingFile` with the expected quarantine counts.

    Raises:
        ValueError: for a bad argument or date (Spanish message).
    """
    check_args(n_rows, bad_fraction, drift)
    try:
        day = date.fromisoformat(logical_date)
    except (TypeError, ValueError):
        raise ValueError(f"fecha {logical_date!r} inválida: usa el formato AAAA-MM-DD") from None
    rng = np.random.default_rng([seed, day.toordinal()])
    plan = _defect_plan(rng, n_rows, bad_fraction)
    dup_rows = np.flatnonzero(plan == DEFECTS.index("duplicate_order_id"))
    dup_src = dict(zip(dup_rows.tolist(), _dup_sources(rng, plan, len(dup_rows)).tolist(),
                       strict=True))
    out = path or landing_path(logical_date)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        for start in range(0, n_rows, BLOCK):
            frame = _block(rng, start, min(start + BLOCK, n_rows), day, plan, dup_src)
            if drift == "extra_column":
                frame[EXTRA_COLUMN] = np.where(rng.random(len(frame)) < 0.1, "PROMO10", "")
            elif drift == "missing_column":
                frame = frame.drop(columns=[MISSING_COLUMN])
            frame.to_csv(fh, index=False, header=start == 0)
    tmp.replace(out)
    counts = np.bincount(plan[plan >= 0], minlength=len(DEFECTS))
    expected = {kind: int(c) for kind, c in zip(DEFECTS, counts, strict=True)}
    if drift == "missing_column":
        expected = {kind: 0 for kind in DEFECTS} | {"missing_column": n_rows}
    landing = LandingFile(
        path=out, logical_date=logical_date, rows=n_rows, expected=expected,
        valid_rows=n_rows - sum(expected.values()),
        params={"n_rows": n_rows, "bad_fraction": bad_fraction, "seed": seed, "drift": drift},
    )
    manifest_path(out).write_text(json.dumps(landing.to_json(), indent=2))
    return landing
