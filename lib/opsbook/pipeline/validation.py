"""Row validation of the sales file with pandera, and the quarantine reason of every bad row.

Why this module exists: the transform step must reject bad rows *with a reason per row*, using a
real validation library rather than hand-written if-chains. The schema below runs on the raw
strings of one chunk of the landing file (so a wrong type is a failed check, not a crash);
every check is named after the quarantine reason it proves. When a row fails several checks,
the reason with the highest priority (order of :data:`REASONS`) wins, so every rejected row
has exactly one reason. Rows that pass are converted to typed columns for the warehouse.

Duplicated order ids span chunks, so they are resolved later in the staging database
(:mod:`opsbook.pipeline.etl`), with reason ``duplicate_order_id``.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from opsbook.pipeline.datagen import COLUMNS, CURRENCIES, REQUIRED

REASONS: tuple[str, ...] = (
    "missing_column", "missing_required", "wrong_type", "bad_date", "negative_quantity",
    "unknown_currency", "duplicate_order_id",
)
"""Quarantine reasons, highest priority first."""

REASON_TEXT: dict[str, str] = {
    "missing_column": "falta una columna obligatoria en el fichero (deriva de esquema)",
    "missing_required": "campo obligatorio vacío",
    "wrong_type": "tipo incorrecto (número esperado)",
    "bad_date": "fecha/hora ilegible (formato AAAA-MM-DDTHH:MM:SS)",
    "negative_quantity": "cantidad negativa o cero",
    "unknown_currency": "moneda desconocida",
    "duplicate_order_id": "order_id repetido (se conserva la primera aparición)",
}
"""Spanish explanation of each reason (stored in the quarantine table)."""

TS_FORMAT = "%Y-%m-%dT%H:%M:%S"
_INT = r"-?\d+"
_DECIMAL = r"-?\d+(\.\d+)?"


def _parses_as_timestamp(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format=TS_FORMAT, errors="coerce").notna()


def _matches(pattern: str):
    def check(series: pd.Series) -> pd.Series:
        return series.str.fullmatch(pattern)
    return check


def _known_currency(series: pd.Series) -> pd.Series:
    return series.isin(CURRENCIES)


def _not_negative(series: pd.Series) -> pd.Series:
    # Vectorised: only well-formed integers reach the comparison; others are wrong_type.
    numbers = pd.to_numeric(series, errors="coerce")
    return ~(numbers <= 0)


def _column(name: str, *checks: pa.Check) -> pa.Column:
    return pa.Column(str, checks=list(checks), nullable=name not in REQUIRED, required=True)


RAW_SCHEMA = pa.DataFrameSchema(
    {
        "order_id": _column("order_id"),
        "ts": _column("ts", pa.Check(_parses_as_timestamp, name="bad_date")),
        "customer_id": _column("customer_id"),
        "product_id": _column("product_id"),
        "category": _column("category"),
        "quantity": _column("quantity", pa.Check(_matches(_INT), name="wrong_type"),
                            pa.Check(_not_negative, name="negative_quantity")),
        "unit_price": _column("unit_price", pa.Check(_matches(_DECIMAL), name="wrong_type")),
        "currency": _column("currency", pa.Check(_known_currency, name="unknown_currency")),
        "store_id": _column("store_id"),
        "region": _column("region"),
        "channel": _column("channel"),
    },
    strict=False,
    name="ventas_raw",
)
"""Schema of one raw chunk (all strings; empty cells are nulls)."""


def _reason_of(check: str) -> str:
    if check == "not_nullable":
        return "missing_required"
    if check in REASONS:
        return check
    raise ValueError(f"comprobación sin motivo de cuarentena: {check!r}")


def validate_chunk(raw: pd.DataFrame) -> pd.DataFrame:
    """Validate one raw chunk and return the reason of every rejected row.

    Args:
        raw: chunk read with ``dtype=str`` (empty cells as NA), index = row number.

    Returns:
        A frame indexed by the rejected row numbers with columns ``reason`` and ``detail``
        (column that failed and offending value); empty when every row is valid.
    """
    try:
        RAW_SCHEMA.validate(raw, lazy=True)
        return pd.DataFrame({"reason": pd.Series(dtype=str), "detail": pd.Series(dtype=str)})
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cases = cases[cases["index"].notna()].copy()
    cases["reason"] = cases["check"].astype(str).map(_reason_of)
    cases["priority"] = cases["reason"].map(REASONS.index)
    value = cases["failure_case"].astype(object)
    value = value.where(value.notna(), "<vacío>").map(str)
    cases["detail"] = cases["column"].astype(object).map(str) + "=" + value
    cases = cases.sort_values(["index", "priority"]).drop_duplicates("index")
    return cases.set_index(cases["index"].astype("int64"))[["reason", "detail"]]


def schema_drift(columns: list[str]) -> dict[str, list[str]]:
    """Compare a file header with the expected columns.

    Args:
        columns: header of the landing file.

    Returns:
        ``{"extra": [...], "missing": [...]}`` (both empty when the header is as expected).
    """
    return {
        "extra": [c for c in columns if c not in COLUMNS],
        "missing": [c for c in COLUMNS if c not in columns],
    }


def to_typed(valid: pd.DataFrame) -> pd.DataFrame:
    """Convert validated raw rows to warehouse values (SQL timestamp text, int, 2-dec price).

    Args:
        valid: rows that passed :func:`validate_chunk`, raw strings.

    Returns:
        A new frame with the columns of :data:`opsbook.pipeline.datagen.COLUMNS`.
    """
    typed = valid.loc[:, list(COLUMNS)].copy()
    typed["ts"] = typed["ts"].str.replace("T", " ", regex=False)
    typed["quantity"] = typed["quantity"].astype("int64")
    typed["unit_price"] = typed["unit_price"].astype("float64").round(2)
    return typed
