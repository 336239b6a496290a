"""Run ``pipeline_ventas``'s extract → transform → load for one date and file, without Airflow.

Why this module exists: an operator must be able to (re)load one date from a given file, or
ask what the warehouse holds for a date, when Airflow is down or for a file that arrived by
hand. :func:`run` calls the very functions the DAG's tasks call (:mod:`opsbook.pipeline.etl`),
in the same order, with the same load gate; :func:`date_status` reads the warehouse. Bad input
(a malformed date, a missing file, a file of another schema) raises :class:`InputError` with a
Spanish message before anything is touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from opsbook.pipeline import etl, validation
from opsbook.pipeline.warehouse import LOAD_LOG, QUARANTINE, SALES, open_warehouse


class InputError(ValueError):
    """The date or the file cannot be processed (Spanish message saying what to fix)."""


@dataclass(frozen=True)
class RunReport:
    """Counts of one manual run (keys of ``--json`` in Spanish, like the printed report).

    Attributes:
        fecha: logical date loaded.
        fichero: landing file read.
        estado: ``cargada`` or ``rechazada`` (by the load gate: the date kept its rows).
        filas_leidas: data rows of the file.
        filas_validas: rows that passed validation.
        filas_cargadas: rows written to the warehouse (0 when refused).
        en_cuarentena: rows quarantined.
        cuarentena_por_motivo: reason → rows.
        filas_antes: rows the date held before.
        filas_en_almacen: rows the date holds now.
        forzada: the gate was overridden with ``--forzar``.
        compuerta: the gate's verdict (empty when the load was plainly allowed).
        segundos: wall time of the three steps.
    """

    fecha: str
    fichero: str
    estado: str
    filas_leidas: int
    filas_validas: int
    filas_cargadas: int
    en_cuarentena: int
    cuarentena_por_motivo: dict[str, int]
    filas_antes: int
    filas_en_almacen: int
    forzada: bool
    compuerta: str
    segundos: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class DateStatus:
    """What the warehouse holds for one date.

    Attributes:
        fecha: logical date.
        filas_en_almacen: sales rows of the date.
        filas_en_cuarentena: quarantined rows of the date's last load.
        cuarentena_por_motivo: reason → rows.
        generaciones: kept checkpoint generations, newest first.
        ultimas_cargas: the latest load decisions (newest first).
    """

    fecha: str
    filas_en_almacen: int
    filas_en_cuarentena: int
    cuarentena_por_motivo: dict[str, int]
    generaciones: list[dict[str, Any]] = field(default_factory=list)
    ultimas_cargas: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def check_date(text: str) -> str:
    """Return ``text`` when it is a real ``AAAA-MM-DD`` date.

    Raises:
        InputError: naming the expected format.
    """
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise InputError(f"fecha inválida {text!r}: usa el formato AAAA-MM-DD (p. ej. 2026-03-10)")


def check_file(path: Path) -> None:
    """Refuse a missing file or one whose header lacks the sales columns.

    Raises:
        InputError: naming the file and, for a wrong schema, the missing columns.
    """
    if not path.is_file():
        raise InputError(f"no existe el fichero {path}")
    try:
        header = etl.read_header(path)
    except etl.ExtractError as exc:
        raise InputError(str(exc)) from exc
    missing = validation.schema_drift(header)["missing"]
    if missing:
        raise InputError(f"{path} no tiene el esquema de ventas: faltan las columnas "
                         f"{', '.join(missing)} (cabecera: {', '.join(header)[:200]})")


def run(ds: str, path: Path, forzar: bool = False) -> RunReport:
    """Extract, transform and load ``path`` as the sales of ``ds`` (the DAG's code path).

    Args:
        ds: logical date ``AAAA-MM-DD``.
        path: landing file.
        forzar: override the load gate (logged).

    Raises:
        InputError: bad date, missing file or wrong schema (nothing was touched).
        opsbook.pipeline.warehouse.WarehouseError: the warehouse failed (rolled back).
    """
    ds = check_date(ds)
    path = Path(path)
    check_file(path)
    extracted = etl.extract(ds, landing=path)
    transformed = etl.transform(extracted.raw_path, ds)
    wh = open_warehouse()
    seconds = extracted.seconds + transformed.seconds
    try:
        loaded = etl.load(transformed.staging_db, ds, wh, forzar=forzar)
        state, rows, before, gate = ("cargada", loaded.rows_loaded, loaded.rows_before,
                                     loaded.gate)
        seconds += loaded.seconds
    except etl.LoadRefused as exc:
        state, rows, before, gate = "rechazada", 0, exc.rows_before, str(exc)
    return RunReport(
        fecha=ds, fichero=str(path), estado=state, filas_leidas=transformed.records_in,
        filas_validas=transformed.valid, filas_cargadas=rows,
        en_cuarentena=transformed.quarantined,
        cuarentena_por_motivo=dict(sorted(transformed.by_reason.items())),
        filas_antes=before, filas_en_almacen=wh.count(SALES, ds),
        forzada=forzar and state == "cargada" and bool(gate), compuerta=gate,
        segundos=round(seconds, 3))


def date_status(ds: str, last_loads: int = 5) -> DateStatus:
    """What the warehouse holds for ``ds``: rows, quarantine, checkpoints, latest loads.

    Raises:
        InputError: a malformed date.
    """
    ds = check_date(ds)
    wh = open_warehouse()
    reasons = wh.read(f"SELECT reason, COUNT(*) AS filas FROM {QUARANTINE}"
                      " WHERE logical_date = ? GROUP BY reason ORDER BY reason", (ds,))
    loads = wh.read(f"SELECT at, decision, rows_before, rows_new, detail FROM {LOAD_LOG}"
                    " WHERE logical_date = ? ORDER BY at DESC", (ds,)).head(last_loads)
    by_reason = {str(r): int(n) for r, n in zip(reasons["reason"], reasons["filas"],
                                                 strict=True)}
    return DateStatus(
        fecha=ds, filas_en_almacen=wh.count(SALES, ds),
        filas_en_cuarentena=sum(by_reason.values()), cuarentena_por_motivo=by_reason,
        generaciones=wh.generations(ds),
        ultimas_cargas=[{"momento": r.at, "decision": r.decision,
                         "filas_antes": int(r.rows_before), "filas_nuevas": int(r.rows_new),
                         "detalle": r.detail or ""} for r in loads.itertuples()])
