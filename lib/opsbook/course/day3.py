"""Helpers of the day-3 notebook: parameters, tables and charts of incidents and drills.

Why this module exists: the notebook only narrates, calls, displays and asserts; turning the
catalog and the drill results into DataFrames, timeline charts, the verification answers and
``resumen.json`` is logic, so it lives here where the linters and the unit tests see it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.incidents.catalog import catalog
from opsbook.incidents.drills import DRILLS, DrillResult
from opsbook.incidents.postmortem import merged_timeline
from opsbook.incidents.timeline import Incident

PHASE_COLORS = {"detect": "#d62728", "diagnose": "#ff7f0e", "recover": "#2ca02c",
                "verify": "#1f77b4", "escalate": "#9467bd", "close": "#7f7f7f",
                "drill": "#111111"}
PHASE_ES = {"detect": "detección", "diagnose": "diagnóstico", "recover": "recuperación",
            "verify": "verificación", "escalate": "escalado", "close": "cierre",
            "drill": "simulacro"}


def check_params(drills_to_run: list[str], timeout_s: float) -> None:
    """Validate the notebook parameters.

    Raises:
        ValueError: naming the parameter to change (Spanish).
    """
    unknown = [d for d in drills_to_run if d not in DRILLS]
    if unknown or not drills_to_run:
        raise ValueError(f"drills_to_run={drills_to_run!r}: usa una lista no vacía con "
                         f"elementos de {list(DRILLS)}")
    if not 60 <= timeout_s <= 3600:
        raise ValueError(f"timeout_s={timeout_s!r}: usa un plazo entre 60 y 3600 segundos")


def catalog_frame() -> pd.DataFrame:
    """The incident catalog as a table (one row per type)."""
    return pd.DataFrame(catalog().rows())


def severity_frame() -> pd.DataFrame:
    """Severity scale with targets and escalation rule per level."""
    cat = catalog()
    return pd.DataFrame([
        {"severidad": sev, "nombre": s["nombre"], "descripcion": s["descripcion"],
         "MTTA objetivo (min)": s["mtta_objetivo_min"], "MTTR objetivo (min)":
         s["mttr_objetivo_min"], "escalado": f"{cat.escalation[sev]['canal']} → "
         + ", ".join(cat.escalation[sev]["destinatarios"])}
        for sev, s in cat.severity_scale.items()])


def timeline_frame(result: DrillResult) -> pd.DataFrame:
    """Every event of a drill (its own + the incident's), seconds relative to the fault."""
    inc = Incident.from_dict(result.incident)
    origin = result.fault_at or inc.started_at
    return pd.DataFrame([
        {"t_s": round(e["t"] - origin, 1), "fase": PHASE_ES[e["phase"]], "paso": e["step"],
         "ok": e["ok"], "duracion_s": e["duration_s"]}
        for e in merged_timeline(inc, result.record())])


def phase_spans(result: DrillResult) -> pd.DataFrame:
    """Start and end (s after the fault) of each runbook phase."""
    inc = Incident.from_dict(result.incident)
    origin = result.fault_at or inc.started_at
    rows = []
    for phase in ("detect", "diagnose", "recover", "verify", "escalate"):
        events = [e for e in inc.timeline if e["phase"] == phase]
        if not events:
            continue
        start = min(e["t"] for e in events) - origin
        end = max(e["t"] + (e["duration_s"] or 0) for e in events) - origin
        if phase == "detect":
            start = 0.0  # detection spans from the fault to the alert's arrival
        rows.append({"fase": phase, "inicio_s": round(start, 1), "fin_s": round(end, 1)})
    return pd.DataFrame(rows)


def timeline_figure(result: DrillResult) -> Any:
    """Gantt-like chart of detect / diagnose / recover / verify for one drill."""
    import matplotlib.pyplot as plt

    spans = phase_spans(result)
    fig, ax = plt.subplots(figsize=(9, 2.8))
    for i, row in enumerate(spans.itertuples()):
        ax.barh(i, max(row.fin_s - row.inicio_s, 0.3), left=row.inicio_s,
                color=PHASE_COLORS[row.fase])
        ax.text(row.fin_s + 0.5, i, f"{row.fin_s - row.inicio_s:.1f} s", va="center", fontsize=8)
    ax.set_yticks(range(len(spans)), [PHASE_ES[p] for p in spans["fase"]])
    ax.invert_yaxis()
    mttr = result.mttr_s
    if mttr:
        ax.axvline(mttr, color="black", linestyle="--", linewidth=1)
        ax.text(mttr, -0.6, f" MTTR {mttr:.1f} s", fontsize=8)
    ax.set_xlabel("segundos desde el fallo (s)")
    ax.set_title(f"Simulacro {result.name}: línea de tiempo del runbook")
    fig.tight_layout()
    return fig


def mttr_frame(results: dict[str, DrillResult]) -> pd.DataFrame:
    """MTTD / MTTA / MTTR, rows and outcome per drill."""
    return pd.DataFrame([
        {"simulacro": name, "estado": r.incident["status"] if r.incident else "-",
         "mttd_s": (r.impact or {}).get("mttd_s"), "mtta_s": (r.impact or {}).get("mtta_s"),
         "mttr_s": r.mttr_s, "filas_esperadas": r.rows_expected,
         "filas_cargadas": r.rows_loaded, "filas_perdidas": (r.impact or {}).get("rows_lost"),
         "ok": r.ok}
        for name, r in results.items()])


def mttr_figure(frame: pd.DataFrame) -> Any:
    """Stacked bars: detection vs the rest of the MTTR, per drill."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    detect = frame["mttd_s"].fillna(0)
    rest = (frame["mttr_s"].fillna(0) - detect).clip(lower=0)
    ax.bar(frame["simulacro"], detect, color=PHASE_COLORS["detect"], label="detección")
    ax.bar(frame["simulacro"], rest, bottom=detect, color=PHASE_COLORS["recover"],
           label="diagnóstico + recuperación + verificación")
    ax.set_ylabel("segundos (s)")
    ax.set_title("MTTR por simulacro")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def answers(results: dict[str, DrillResult]) -> str:
    """The three verification questions answered with the measured figures (Markdown)."""
    pd_ = _record(results.get("pipeline_down")).get("impact") or {}
    dc = _record(results.get("data_corruption"))
    db = _record(results.get("db_unreachable"))
    first = dc.get("first_load") or {}
    lines = [
        "**1. ¿Diferencia entre un incidente de datos y uno de infraestructura?**",
        f"En `pipeline_down` (infraestructura) el sistema dejó de estar disponible: "
        f"{pd_.get('outage_s', '–')} s sin scheduler y {pd_.get('runs_delayed', '–')} "
        "ejecución(es) esperando, pero ningún dato era incorrecto. En `data_corruption` (datos) "
        f"todo estaba sano y sin embargo {first.get('en_cuarentena', '–')} de "
        f"{dc.get('rows_expected', '–')} filas llegaron defectuosas: la alerta vino de la "
        "calidad, no de la salud. La infraestructura se arregla reiniciando; los datos, "
        "corrigiendo la fuente y reprocesando la fecha.",
        "",
        "**2. ¿Por qué runbooks automatizados?**",
        f"El runbook empezó a diagnosticar a los {pd_.get('mtta_s', '–')} s del fallo (MTTA) y "
        f"recuperó el servicio en {pd_.get('mttr_s', '–')} s (MTTR) sin que nadie mirara; "
        f"en `db_unreachable` esperó al almacén y relanzó la carga "
        f"({db.get('rows_loaded', '–')} filas, {db.get('impact', {}).get('rows_lost', '–')} "
        "perdidas). Cada paso queda con marca de tiempo, es idempotente y tiene plazo: la "
        "respuesta es la misma a las 3 de la madrugada que en clase.",
        "",
        "**3. ¿Qué valor aporta un post-mortem?**",
        "El post-mortem de `pipeline_down` se generó de la línea de tiempo real y dice dónde se "
        f"fue el tiempo: {_biggest_phase(results.get('pipeline_down'))}. Esa cifra decide la "
        "acción correctiva con más retorno; sin el documento se pierde y el mismo incidente "
        "vuelve a costar lo mismo.",
    ]
    return "\n".join(lines)


def _record(result: DrillResult | None) -> dict[str, Any]:
    """The drill's fields as a dict ({} when the drill did not run), for optional look-ups."""
    return result.record() if result is not None else {}


def _biggest_phase(result: DrillResult | None) -> str:
    if result is None or not result.incident:
        return "sin datos (el simulacro no se ejecutó)"
    spans = phase_spans(result)
    spans["dur"] = spans["fin_s"] - spans["inicio_s"]
    top = spans.sort_values("dur", ascending=False).iloc[0]
    mttr = result.mttr_s or top["fin_s"]
    return (f"la fase de {PHASE_ES[top['fase']]} consumió {top['dur']:.1f} s de un MTTR de "
            f"{mttr:.1f} s ({100 * top['dur'] / mttr:.0f} %)")


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and value != value else value  # NaN -> None


def summary(results: dict[str, DrillResult]) -> dict[str, Any]:
    """Figures for ``resumen.json`` (day 5 builds the deck from them)."""
    frame = mttr_frame(results)
    return {
        "catalog_types": len(catalog().types),
        "drills": {r["simulacro"]: {k: _clean(r[k]) for k in ("estado", "mttd_s", "mtta_s",
                                                              "mttr_s", "filas_perdidas", "ok")}
                   for r in frame.to_dict("records")},
        "mttr_s": {r["simulacro"]: _clean(r["mttr_s"]) for r in frame.to_dict("records")},
        "rows_lost": int(frame["filas_perdidas"].fillna(0).sum()),
        "all_recovered": bool(frame["ok"].all()),
    }
