"""Render docs/diagramas/arquitectura.png (the same graph as the Mermaid block in the docs).

mermaid-cli needs Node + a bundled Chromium download, so the PNG is drawn with matplotlib:
    .venv/bin/python docs/diagramas/arquitectura.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

NODES = {  # name: (x, y, label, colour)
    "landing": (1.0, 5.4, "Zona de aterrizaje\nvar/landing/*.csv", "#fde9d9"),
    "dag": (4.0, 5.4, "DAG pipeline_ventas\nextract → transform → load", "#dbe8f5"),
    "wh": (7.0, 5.4, "Almacén\nSQLite / PostgreSQL", "#fde9d9"),
    "airflow": (4.0, 3.3, "Airflow 3.3\napi-server · scheduler\ndag-processor · triggerer", "#dbe8f5"),
    "door": (1.0, 3.3, "Puerta de entrada\nnginx :8088 (blue-green)", "#e2f0d9"),
    "statsd": (7.0, 3.3, "Puente StatsD\nUDP :9125 → /metrics :9102", "#e2f0d9"),
    "prom": (7.0, 1.2, "Prometheus :9090\nreglas de alerta", "#fff2cc"),
    "am": (4.0, 1.2, "Alertmanager :9093", "#fff2cc"),
    "hook": (1.0, 1.2, "Receptor :9095\nrunbook automático", "#f4cccc"),
    "nb": (10.0, 1.2, "Cuadernos día 1–5 \n(papermill) → evidencia/", "#ead1dc"),
    "graf": (10.0, 3.3, "Panel Grafana\n(JSON generado)", "#fff2cc"),
}
EDGES = [
    ("landing", "dag", "lee"), ("dag", "wh", "carga"), ("airflow", "dag", "ejecuta"),
    ("door", "airflow", "HTTP"), ("airflow", "statsd", "StatsD"), ("statsd", "prom", "scrape"),
    ("prom", "am", "alertas"), ("am", "hook", "webhook"), ("hook", "airflow", "recupera"),
    ("nb", "prom", "PromQL"), ("prom", "graf", "consulta"),
]
W, H = 2.3, 1.05


def _border(xa: float, ya: float, xb: float, yb: float, pad: float = 0.08) -> tuple:
    """Point where the segment from A's centre towards B leaves A's box."""
    dx, dy = xb - xa, yb - ya
    t = min((W / 2 + pad) / abs(dx) if dx else 1e9, (H / 2 + pad) / abs(dy) if dy else 1e9)
    return xa + dx * t, ya + dy * t


def main() -> Path:
    """Draw the diagram and return the PNG path."""
    fig, ax = plt.subplots(figsize=(14, 7))
    ax.set_xlim(-0.3, 11.3)
    ax.set_ylim(0.5, 6.1)
    ax.axis("off")
    for x, y, label, colour in NODES.values():
        ax.add_patch(FancyBboxPatch((x - W / 2, y - H / 2), W, H, boxstyle="round,pad=0.05",
                                    fc=colour, ec="#1f4e79", lw=1.4))
        ax.text(x, y, label, ha="center", va="center", fontsize=9.5)
    for a, b, label in EDGES:
        (xa, ya, *_), (xb, yb, *_) = NODES[a], NODES[b]
        start, end = _border(xa, ya, xb, yb), _border(xb, yb, xa, ya)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                     color="#404040", lw=1.2))
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.02, label, ha="center", va="bottom",
                fontsize=8.5,
                color="#1f4e79", bbox={"fc": "white", "ec": "none", "pad": 0.5})
    ax.set_title("Arquitectura de opsbook: todo en 127.0.0.1, supervisado por supervisord",
                 fontsize=13)
    out = Path(__file__).with_suffix(".png")
    fig.savefig(out, dpi=110, bbox_inches="tight")
    return out


if __name__ == "__main__":
    print(main())
