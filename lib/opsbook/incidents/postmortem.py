"""Blameless post-mortems generated from a recorded incident timeline.

Why this module exists: a post-mortem is only worth something when its numbers are the real
ones. This module computes the impact (runs delayed, rows late, availability-SLA minutes
lost), the response metrics (MTTD/MTTA/MTTR) and the lessons learned from the timeline the
runbook and the drill recorded, and renders them in Spanish with the Jinja2 template
``templates/post_mortem.md.j2`` — nothing in the report is typed by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from opsbook.incidents.catalog import Catalog, catalog
from opsbook.incidents.timeline import Incident, iso

TEMPLATES = Path(__file__).parent / "templates"
PHASE_ES = {"detect": "detección", "diagnose": "diagnóstico", "recover": "recuperación",
            "verify": "verificación", "escalate": "escalado", "close": "cierre",
            "drill": "simulacro"}


def merged_timeline(incident: Incident, drill: dict[str, Any] | None = None) -> list[dict]:
    """The incident's events plus the drill's own events, in time order."""
    events = list(incident.timeline) + list((drill or {}).get("events", []))
    return sorted(events, key=lambda e: e["t"])


def impact(incident: Incident, drill: dict[str, Any] | None = None) -> dict[str, Any]:
    """Compute the impact from the timeline and the runs the drill observed.

    Definitions: the outage runs from the fault (or the alert's start) to the moment the
    stack was verified healthy; a run is *delayed* when it was queued before that moment and
    finished after the fault; its rows are *late*. Every outage minute is a minute of the
    pipeline's availability SLA lost.

    Args:
        incident: the recorded incident.
        drill: optional drill record (``fault_at``, ``healthy_at``, ``runs`` with
            ``queued_at``/``end_at``/``rows``, ``rows_expected``, ``rows_loaded``).

    Returns:
        ``outage_s``, ``runs_delayed``, ``rows_late``, ``sla_minutes_lost``, ``rows_lost``
        plus MTTD/MTTA/MTTR in seconds measured from the fault.
    """
    drill = drill or {}
    start = drill.get("fault_at") or incident.started_at
    healthy = drill.get("healthy_at") or incident.recovered_at
    end = healthy or (incident.timeline[-1]["t"] if incident.timeline else start)
    delayed = [r for r in drill.get("runs", [])
               if r.get("queued_at") is not None and r["queued_at"] < end
               and (r.get("end_at") or end) > start]
    diag = incident.first("diagnose")
    expected = drill.get("rows_expected")
    loaded = drill.get("rows_loaded")
    return {
        "outage_s": round(end - start, 1),
        "runs_delayed": len(delayed),
        "rows_late": int(sum(r.get("rows") or 0 for r in delayed)),
        "sla_minutes_lost": round((end - start) / 60, 2),
        "rows_expected": expected,
        "rows_loaded": loaded,
        "rows_lost": (expected - loaded) if expected is not None and loaded is not None else None,
        "mttd_s": round(incident.detected_at - start, 1),
        "mtta_s": round(diag["t"] - start, 1) if diag else None,
        "mttr_s": round(healthy - start, 1) if healthy else None,
        "recovered": healthy is not None,
    }


def lessons(incident: Incident, facts: dict[str, Any]) -> dict[str, list[str]]:
    """Derive what went well, what went wrong and where we got lucky from the facts."""
    # a failing diagnosis check is the fault being found; only failed remedies went wrong
    failed = [e for e in incident.timeline if e["ok"] is False and e["phase"] in
              ("recover", "verify")]
    well, wrong, lucky = [], [], []
    if facts["recovered"] and incident.status == "recovered":
        well.append(f"El runbook recuperó el servicio sin intervención humana en "
                    f"{facts['mttr_s']} s desde el fallo.")
    if facts["mtta_s"] is not None:
        well.append(f"El diagnóstico empezó {facts['mtta_s']} s después del fallo "
                    "(MTTA), sin esperar a una persona.")
    if facts["rows_lost"] == 0:
        well.append("No se perdió ninguna fila: los conteos cuadran tras la recuperación.")
    if facts["mttr_s"] and facts["mttd_s"] > 0.5 * facts["mttr_s"]:
        wrong.append(f"La detección consumió {facts['mttd_s']} s, "
                     f"{round(100 * facts['mttd_s'] / facts['mttr_s'])} % del MTTR.")
    rec = incident.first("recover")
    if facts["mttr_s"] and rec and incident.recovered_at:
        spent = incident.recovered_at - rec["t"]
        if spent > 0.5 * facts["mttr_s"]:
            wrong.append(f"Recuperar y verificar consumió {spent:.1f} s, "
                         f"{round(100 * spent / facts['mttr_s'])} % del MTTR: el componente "
                         "tarda en volver a estar sano.")
    for event in failed:
        wrong.append(f"Paso «{event['step']}» ({PHASE_ES[event['phase']]}) falló: "
                     f"{str(event['detail'])[:160]}")
    if incident.status == "escalated":
        wrong.append("La recuperación automática no bastó: se escaló a una persona.")
    if facts["runs_delayed"] == 0:
        lucky.append("Ninguna ejecución quedó atrapada durante la caída.")
    else:
        lucky.append(f"Solo {facts['runs_delayed']} ejecución(es) quedaron retrasadas; con un "
                     "horario más denso el impacto habría crecido con cada minuto.")
    lucky.append("El fallo ocurrió con el equipo mirando (simulacro); un fallo real de "
                 "madrugada depende por completo de la automatización.")
    return {"bien": well or ["(nada destacable)"], "mal": wrong or ["(nada destacable)"],
            "suerte": lucky}


def context(incident: Incident, drill: dict[str, Any] | None = None,
            cat: Catalog | None = None) -> dict[str, Any]:
    """Everything the template needs, computed from the incident and the drill record."""
    cat = cat or catalog()
    facts = impact(incident, drill)
    kind = cat.get(incident.type)
    origin = (drill or {}).get("fault_at") or incident.started_at
    timeline = [{**e, "rel_s": round(e["t"] - origin, 1), "fase": PHASE_ES[e["phase"]],
                 "detail_txt": _short(e.get("detail"))}
                for e in merged_timeline(incident, drill)]
    failing = [name for name, d in incident.diagnosis.items() if not d["ok"]]
    return {
        "incident": incident.to_dict(), "kind": kind, "facts": facts, "timeline": timeline,
        "severity": cat.severity_scale[incident.severity],
        "category": cat.categories[kind.category],
        "drill": drill or {}, "started_iso": iso(origin),
        "root_cause": (drill or {}).get("root_cause")
        or (f"Chequeos en fallo: {', '.join(failing)}" if failing else "Sin causa identificada"),
        "failing_checks": failing, "lessons": lessons(incident, facts),
        "resolution": [e for e in timeline if e["phase"] in ("recover", "verify", "escalate")],
        "pm": cat.postmortem_for(incident.type), "metric_defs": cat.metrics,
    }


def render(incident: Incident, drill: dict[str, Any] | None = None,
           cat: Catalog | None = None) -> str:
    """Render the Spanish Markdown post-mortem of an incident."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, autoescape=False)
    return env.get_template("post_mortem.md.j2").render(**context(incident, drill, cat))


def _short(detail: Any, limit: int = 120) -> str:
    text = detail if isinstance(detail, str) else ("" if detail is None else str(detail))
    text = text.replace("\n", " ").replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"
