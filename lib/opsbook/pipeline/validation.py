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
    "missing_column", "malformed_row", "bad_encoding", "missing_required", "wrong_type",
    "out_of_range", "bad_date", "negative_quantity", "unknown_currency", "duplicate_order_id",
)
"""Quarantine reasons, highest priority first."""

REASON_TEXT: dict[str, str] = {
    "missing_column": "falta una columna obligatoria en el fichero (deriva de esquema)",
    "malformed_row": "fila mal formada (número de campos distinto de la cabecera)",
    "bad_encoding": "bytes que no son UTF-8 en algún campo",
    "missing_required": "campo obligatorio vacío",
    "wrong_type": "tipo incorrecto (número esperado)",
    "out_of_range": "número fuera del rango que admite el almacén (desbordamiento)",
    "bad_date": "fecha/hora ilegible (formato AAAA-MM-DDTHH:MM:SS)",
    "negative_quantity": "cantidad negativa o cero",
    "unknown_currency": "moneda desconocida",
    "duplicate_order_id": "order_id repetido (se conserva la primera aparición)",
}
"""Spanish explanation of each reason (stored in the quarantine table)."""

TS_FORMAT = "%Y-%m-%dT%H:%M:%S"
_INT = r"-?\d+"
_DECIMAL = r"-?\d+(\.\d+)?"
MAX_QUANTITY = 2**31 - 1
"""Largest quantity the warehouse stores (``INTEGER`` is 32-bit on PostgreSQL)."""
MAX_PRICE = 10**10
"""Prices must stay below this (``NUMERIC(12,2)`` on PostgreSQL)."""
MALFORMED = "\x00malformed:"
"""Marker the reader puts in the last cell of a row with the wrong number of fields."""
REPLACEMENT = "\ufffd"
"""What a non-UTF-8 byte becomes when the file is read with ``encoding_errors="replace"``."""


def _parses_as_timestamp(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format=TS_FORMAT, errors="coerce").notna()


def _matches(pattern: str):
    def check(series: pd.Series) -> pd.Series:
        return series.str.fullmatch(pattern)
    return check


def _in_range(upper: int):
    def check(series: pd.Series) -> pd.Series:
        # digits only reach the comparison (others are wrong_type); a 400-digit number is a
        # Python int here, never an int64 overflow
        well_formed = series.str.fullmatch(_DECIMAL).fillna(False).astype(bool)
        # rounded as to_typed stores it: 9999999999.995 becomes 10^10
        values = series.where(well_formed, "0").map(lambda v: abs(round(float(v), 2)) < upper)
        return values.astype(bool)
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
                            pa.Check(_in_range(MAX_QUANTITY + 1), name="out_of_range"),
                            pa.Check(_not_negative, name="negative_quantity")),
        "unit_price": _column("unit_price", pa.Check(_matches(_DECIMAL), name="wrong_type"),
                              pa.Check(_in_range(MAX_PRICE), name="out_of_range")),
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
    parts = [_row_level(raw)]
    try:
        RAW_SCHEMA.validate(raw, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()].copy()
        cases["reason"] = cases["check"].astype(str).map(_reason_of)
        value = cases["failure_case"].astype(object)
        value = value.where(value.notna(), "<vacío>").map(str)
        cases["detail"] = cases["column"].astype(object).map(str) + "=" + value
        parts.append(cases[["index", "reason", "detail"]])
    cases = pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)
    if cases.empty:
        return pd.DataFrame({"reason": pd.Series(dtype=str), "detail": pd.Series(dtype=str)})
    cases["priority"] = cases["reason"].map(REASONS.index)
    cases = cases.sort_values(["index", "priority"], kind="stable").drop_duplicates("index")
    return cases.set_index(cases["index"].astype("int64"))[["reason", "detail"]]


def _row_level(raw: pd.DataFrame) -> pd.DataFrame:
    """Rows the reader marked as malformed and rows holding non-UTF-8 bytes (any column)."""
    found: list[pd.DataFrame] = []
    last = raw.iloc[:, -1].astype(object) if len(raw.columns) else pd.Series(dtype=object)
    malformed = last.map(lambda v: isinstance(v, str) and v.startswith(MALFORMED))
    if malformed.any():
        fields = last[malformed].str.removeprefix(MALFORMED)
        found.append(pd.DataFrame({
            "index": fields.index, "reason": "malformed_row",
            "detail": "campos=" + fields + f" (esperados {len(raw.columns)})"}))
    texts = raw.astype(object).where(raw.notna(), "")
    bad = pd.DataFrame({c: raw[c].astype("string").str.contains(REPLACEMENT, regex=False)
                        .fillna(False).astype(bool) for c in raw.columns}, index=raw.index)
    rows = bad.any(axis=1) & ~malformed
    if rows.any():
        first_col = bad[rows].idxmax(axis=1)
        found.append(pd.DataFrame({
            "index": first_col.index, "reason": "bad_encoding",
            "detail": first_col + "=" + [str(texts.at[i, c])[:80] for i, c in first_col.items()]}))
    if not found:
        return pd.DataFrame({"index": pd.Series(dtype="int64"), "reason": pd.Series(dtype=str),
                             "detail": pd.Series(dtype=str)})
    return pd.concat(found, ignore_index=True)


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
