"""Charts of the day-4 scaling and zero-downtime experiments (matplotlib, Spanish titles).

Why this module exists: the notebook cells only call, show and assert; the figure code that
turns the measured rows and load reports into evidence charts lives here, once.
"""

from __future__ import annotations

from typing import Any

from opsbook.deploy.loadgen import LoadReport


def speedup_chart(rows: list[dict], cores: int | None = None) -> Any:
    """Wall time, speed-up and (CPU-bound DAG) cores used per (workers × slots) configuration.

    Args:
        rows: output of :func:`opsbook.deploy.scaling.scale_out_experiment`.
        cores: CPU cores of the machine (the ceiling line of the third panel).

    Returns:
        The matplotlib figure.
    """
    import os

    import matplotlib.pyplot as plt

    cores = cores or os.cpu_count() or 1
    dags = list(dict.fromkeys(r["dag_id"] for r in rows))
    configs = list(dict.fromkeys(f"{r['workers']}×{r['concurrency']}" for r in rows))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    width = 0.8 / max(1, len(dags))
    for i, dag in enumerate(dags):
        mine = [r for r in rows if r["dag_id"] == dag]
        xs = [configs.index(f"{r['workers']}×{r['concurrency']}") + i * width for r in mine]
        axes[0].bar(xs, [r["wall_s"] for r in mine], width, label=dag)
        axes[1].bar(xs, [r["speedup"] for r in mine], width, label=dag)
        if any("cores_used" in r for r in mine):
            axes[2].bar([configs.index(f"{r['workers']}×{r['concurrency']}") for r in mine],
                        [r.get("cores_used", 0) for r in mine], 0.5, label=dag,
                        color=f"C{i}")
    for ax in axes:
        ax.set_xlabel("workers × ranuras por worker")
        ax.legend()
    for ax in axes[:2]:
        ax.set_xticks([c + width * (len(dags) - 1) / 2 for c in range(len(configs))], configs)
    axes[2].set_xticks(range(len(configs)), configs)
    axes[0].set_ylabel("tiempo de la ejecución (s, encolada → fin)")
    axes[0].set_title("Duración de cada ejecución del fan-out")
    axes[1].set_ylabel("aceleración frente a 1×2 (veces)")
    axes[1].axhline(1.0, color="grey", linestyle=":", linewidth=1)
    axes[1].set_title("Aceleración: la E/S escala, la CPU no")
    axes[2].axhline(cores, color="grey", linestyle="--", linewidth=1)
    axes[2].text(-0.4, cores * 1.02, f"{cores} núcleos (techo)", color="grey")
    axes[2].set_ylim(0, cores * 1.25)
    axes[2].set_ylabel("núcleos ocupados por el cálculo (CPU s / s)")
    axes[2].set_title("CPU usada por el fan-out de CPU")
    fig.tight_layout()
    return fig


def load_timeline_chart(reports: dict[str, LoadReport]) -> Any:
    """Requests per second (ok / failed) over time for each labelled load report.

    Args:
        reports: label (e.g. ``"blue-green"``, ``"reinicio ingenuo"``) → load report.

    Returns:
        The matplotlib figure (one panel per report, marks as vertical lines).
    """
    import matplotlib.pyplot as plt

    from opsbook.deploy.zero_downtime import timeline

    fig, axes = plt.subplots(len(reports), 1, figsize=(11, 3.2 * len(reports)), squeeze=False)
    for ax, (label, report) in zip(axes[:, 0], reports.items(), strict=True):
        tl = timeline(report)
        ax.bar(tl["second"], tl["ok"], width=1.0, color="tab:green", label="correctas")
        ax.bar(tl["second"], tl["failed"], width=1.0, bottom=tl["ok"], color="tab:red",
               label="fallidas")
        for t, mark in report.marks:
            ax.axvline(t, color="grey", linestyle=":", linewidth=1)
            ax.text(t, ax.get_ylim()[1] * 0.92, mark, rotation=90, fontsize=7, va="top")
        failed = len(report.failed)
        ax.set_title(f"{label}: {len(report.samples)} peticiones, {failed} fallidas")
        ax.set_ylabel("peticiones por segundo")
        ax.set_xlabel("tiempo desde el inicio de la carga (s)")
        ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
