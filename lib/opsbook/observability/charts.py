"""Matplotlib versions of the dashboard panels, drawn from the same signals.

Why this module exists: the course shows Grafana's dashboard, but the evidence must be files a
grader can open (PNG, docs/convenciones.md → Evidencia). Each chart here is one
:class:`opsbook.observability.signals.Signal` queried live through :mod:`opsbook.observability.prom`
— the same expression as the Grafana panel — with a Spanish title and the unit on the axis. Also
draws an alert's life (pending → firing → received → resolved) from an
:class:`opsbook.observability.alerts.AlertTrace`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from opsbook.observability import prom, signals

UNIT_LABELS = {
    "runs": "ejecuciones",
    "seconds": "segundos (s)",
    "records": "registros",
    "ratio": "proporción (0–1)",
    "records_per_second": "registros por segundo",
    "errors": "errores / filas en cuarentena",
    "violations": "violaciones",
    "per_minute": "latidos por minuto",
    "files": "archivos con error",
}


def unit_label(sig: signals.Signal) -> str:
    """Spanish axis label of a signal's unit."""
    return UNIT_LABELS.get(sig.unit, sig.unit)


def legend(labels: dict[str, Any] | pd.Series, template: str) -> str:
    """Fill a Grafana legend template (``{{dag_id}}``) with a series' labels."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(labels.get(m.group(1), "")), template)


def _label_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("timestamp", "value", "__name__")]


def draw(sig: signals.Signal, ax: Any, start: datetime | float | None = None,
         end: datetime | float | None = None, step: str = "5s") -> pd.DataFrame:
    """Draw one signal on ``ax`` and return the data drawn.

    Time-series panels use a range query (``start``..``end``); stat, gauge and bar panels use
    an instant query (bars per legend entry, value printed on each bar).

    Args:
        sig: the signal.
        ax: a matplotlib Axes.
        start: first instant of a range panel (required for ``timeseries``).
        end: last instant (default now).
        step: range resolution.

    Raises:
        ValueError: a time-series panel without ``start``.
    """
    ax.set_title(sig.title, fontsize=10)
    ax.set_ylabel(unit_label(sig), fontsize=8)
    if sig.panel == "timeseries":
        if start is None:
            raise ValueError(f"el panel {sig.id} es una serie temporal: indica start=")
        frame = prom.query_range(sig.expr, start, end, step)
        cols = _label_columns(frame)
        if frame.empty:
            ax.text(0.5, 0.5, "sin datos", ha="center", va="center", transform=ax.transAxes)
        groups = frame.groupby(cols) if cols else [((), frame)]
        for key, part in groups:
            labels = dict(zip(cols, key if isinstance(key, tuple) else (key,), strict=False))
            ax.plot(part.index, part["value"], marker=".", ms=3,
                    label=legend(labels, sig.legend) or sig.id)
        ax.set_xlabel("hora (UTC)", fontsize=8)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        ax.tick_params(axis="x", labelsize=7)
    else:
        frame = prom.query(sig.expr)
        names = [legend(row, sig.legend) or sig.id for _, row in frame.iterrows()]
        bars = ax.bar(names, frame["value"], color="tab:blue")
        ax.bar_label(bars, fmt="%.4g", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        top = float(frame["value"].max()) if not frame.empty else 0.0
        ax.set_ylim(0, 1.05 if sig.unit == "ratio" else max(top * 1.15, 1.0))
    if sig.panel == "timeseries" and not frame.empty:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return frame


def panel_figure(sig: signals.Signal, **kwargs: Any) -> Any:
    """One signal as its own figure (for a per-panel PNG); kwargs go to :func:`draw`."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    draw(sig, ax, **kwargs)
    fig.tight_layout()
    plt.close(fig)
    return fig


def dashboard_figure(start: datetime | float, end: datetime | float | None = None,
                     step: str = "5s", cols: int = 3) -> Any:
    """Every signal in one grid, in dashboard order (the Grafana dashboard, on paper)."""
    n = len(signals.SIGNALS)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows))
    for ax, sig in zip(axes.flat, signals.SIGNALS, strict=False):
        draw(sig, ax, start=start, end=end, step=step)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Dashboard del pipeline (mismas consultas que Grafana)", fontsize=13)
    fig.tight_layout()
    plt.close(fig)
    return fig


def alert_timeline_figure(trace: Any) -> Any:
    """Stages of an :class:`opsbook.observability.alerts.AlertTrace` as seconds after its origin."""
    names = {"active_at": "condición verdadera (pending)", "firing": "firing en Prometheus",
             "received": "recibida por el webhook", "resolved": "resuelta en Prometheus",
             "resolved_received": "resolución recibida"}
    lat = {k: v for k, v in trace.latencies().items() if v is not None}
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    ax.barh([names[k] for k in lat], list(lat.values()), color="tab:orange")
    for i, v in enumerate(lat.values()):
        ax.text(v, i, f" {v:.1f} s", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("segundos desde el fallo (s)")
    ax.set_title(f"Ciclo de vida de la alerta {trace.alertname}")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return fig
