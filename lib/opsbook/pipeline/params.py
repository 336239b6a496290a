"""Run parameters of ``pipeline_ventas``, validated with clear Spanish errors.

Why this module exists: the DAG's params come from the UI, the REST API and the notebooks. A
wrong value (``fail_at="carga"``, ``bad_fraction=2``) must fail *fast*, before anything
runs, with a message that says what to change. The model is validated by pydantic; this
module only translates its errors into the course language. The notebooks can call
:func:`parse` before triggering a run, and the DAG's first task calls it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FAIL_POINTS: tuple[str, ...] = ("none", "extract", "transform", "load")
"""Values of ``fail_at``: where to inject a failure for the drills (``none`` = no failure)."""

HINTS: dict[str, str] = {
    "n_rows": "usa un entero entre 1 y 10000000 (filas del fichero generado)",
    "bad_fraction": "usa un número entre 0 y 0.5 (fracción de filas defectuosas)",
    "fail_at": f"usa uno de {list(FAIL_POINTS)}",
    "slow_seconds": "usa un número de segundos entre 0 y 3600",
    "until_sla_miss": "usa true o false",
    "seed": "usa un entero ≥ 0",
    "drift": "usa 'none', 'extra_column' o 'missing_column'",
    "forzar": "usa true o false (cargar aunque la compuerta de volumen lo rechace)",
}

DESCRIPTIONS: dict[str, str] = {
    "n_rows": "Filas del fichero de ventas generado (1..10 000 000).",
    "bad_fraction": "Fracción de filas defectuosas que inyecta el generador (0..0.5).",
    "fail_at": "Fallo inyectado para los simulacros: none, extract, transform o load.",
    "slow_seconds": "Espera extra de transform en segundos (para incumplir el SLA).",
    "until_sla_miss": "Con slow_seconds: acabar la espera en cuanto el deadline de esta ejecución "
                      "se cuenta como incumplido (slow_seconds queda como tope).",
    "seed": "Semilla del generador (mismos parámetros → mismo fichero).",
    "drift": "Deriva de esquema del fichero: none, extra_column o missing_column.",
    "forzar": "Cargar aunque la compuerta de volumen lo rechace (fichero vacío o con muchas "
              "menos filas que la fecha); queda registrado.",
}
"""Spanish description of each param (shown in the Airflow trigger form)."""


class RunParams(BaseModel):
    """Validated parameters of one run.

    Attributes:
        n_rows: rows of the generated landing file.
        bad_fraction: share of defective rows injected by the generator (0..0.5).
        fail_at: step where a failure is injected (``none``, ``extract``, ``transform``,
            ``load``).
        slow_seconds: extra seconds the transform waits (to miss the deadline).
        until_sla_miss: end that wait as soon as this run's deadline miss is counted (the
            deadline callback's ``sla_missed`` line in the callback ledger); ``slow_seconds``
            stays the cap.
        seed: generator seed.
        drift: schema drift of the generated file (``none``, ``extra_column``,
            ``missing_column``).
        forzar: override the load gate for a file dropped in the landing folder (logged).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_rows: int = Field(2000, ge=1, le=10_000_000)
    bad_fraction: float = Field(0.05, ge=0, le=0.5)
    fail_at: Literal["none", "extract", "transform", "load"] = "none"
    slow_seconds: float = Field(0, ge=0, le=3600)
    until_sla_miss: bool = False
    seed: int = Field(42, ge=0)
    drift: Literal["none", "extra_column", "missing_column"] = "none"
    forzar: bool = False


DEFAULTS = RunParams()
"""The defaults (also the DAG's ``params``)."""


def parse(raw: Mapping[str, Any] | None) -> RunParams:
    """Validate run parameters; missing ones take their default.

    Args:
        raw: the DAG run's params (``None`` = all defaults). Keys with value ``None`` are
            treated as missing.

    Returns:
        The validated :class:`RunParams`.

    Raises:
        ValueError: one line per bad parameter: its value and what to change.
    """
    values = {k: v for k, v in dict(raw or {}).items() if v is not None}
    try:
        return RunParams(**values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            if err["type"] == "extra_forbidden":
                lines.append(f"parámetro desconocido {name!r}: usa solo {list(HINTS)}")
            else:
                lines.append(f"parámetro {name}={err.get('input')!r} inválido: {HINTS[name]}")
        raise ValueError("; ".join(lines)) from None
