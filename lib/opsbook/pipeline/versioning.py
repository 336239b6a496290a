"""Day-4 data versioning: the compatibility matrix, legacy-data walkthrough and summary merge.

Why this module exists: the Día 4 notebook, the ``data_version_manager.py`` script and the
benchmark need a few higher-level operations over :mod:`opsbook.pipeline.schema_registry` (versions,
validation, upgrade) and :mod:`opsbook.pipeline.avro_compat` (Schema Registry modes): which version
can
read which (as a table and a heat-map), a validate → upgrade → re-validate pass over mixed
legacy data, and a ``resumen.json`` writer that merges keys so the two authors of day 4
(versioning; scaling and deploy) never overwrite each other's figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opsbook.pipeline.avro_compat import MODES, Schema, can_read, check
from opsbook.pipeline.schema_registry import FieldError, SchemaRegistry, registry


def candidates(reg: SchemaRegistry | None = None) -> dict[str, Schema]:
    """The registered versions plus the v4 proposal, labelled ``v1``..``v4``."""
    reg = reg or registry()
    out = {f"v{n}": reg.get(n).schema for n in reg.versions}
    proposal = reg.proposal()
    out["v4"] = Schema("v4", proposal.parsed, proposal.named, proposal.raw)
    return out


def aliased_proposal(reg: SchemaRegistry | None = None) -> Schema:
    """The v4 proposal repaired the Avro way: ``full_name`` declares ``aliases: ["name"]``.

    Dropping ``created_at`` is left as proposed: readers of v4 ignore it (fine for BACKWARD),
    but v1–v3 readers still need it (FORWARD keeps failing).
    """
    import copy

    from opsbook.pipeline.avro_compat import parse

    raw = copy.deepcopy((reg or registry()).proposal().raw)
    for f in raw["fields"]:
        if f["name"] == "full_name":
            f["aliases"] = ["name"]
    return parse(raw, "v4 con alias")


def read_matrix(reg: SchemaRegistry | None = None) -> Any:
    """Who can read whom: rows = reader schema, columns = writer schema (pandas bool frame)."""
    import pandas as pd

    schemas = candidates(reg)
    data = {w: [can_read(schemas[r], schemas[w]) for r in schemas] for w in schemas}
    frame = pd.DataFrame(data, index=list(schemas))
    frame.index.name, frame.columns.name = "lector", "escritor"
    return frame


def mode_table(reg: SchemaRegistry | None = None) -> Any:
    """Verdict of every mode for each new version against its predecessors (newest first).

    Returns:
        A pandas frame: one row per (version, mode) with ``compatible``, ``n_motivos`` and the
        Spanish ``motivos`` joined.
    """
    import pandas as pd

    schemas = list(candidates(reg).values())
    rows = []
    for i in range(1, len(schemas)):
        new, previous = schemas[i], schemas[:i][::-1]
        for mode in MODES:
            report = check(mode, new, previous)
            rows.append({
                "version": new.label, "modo": mode, "compatible": report.compatible,
                "n_motivos": len(report.incompatibilities),
                "motivos": " | ".join(str(x) for x in report.incompatibilities),
            })
    return pd.DataFrame(rows)


def heatmap(matrix: Any, title: str, words: tuple[str, str] = ("lee", "NO lee"),
            xlabel: str = "esquema del escritor (datos existentes)",
            ylabel: str = "esquema del lector (consumidor)") -> Any:
    """Draw a boolean frame as a green/red heat-map (matplotlib figure).

    Args:
        matrix: boolean pandas frame (default labels: rows = reader, columns = writer).
        title: Spanish title.
        words: cell text for True and False.
        xlabel: x-axis label.
        ylabel: y-axis label.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    width = max(5.6, 1.3 * len(matrix.columns) + 1.5)
    fig, ax = plt.subplots(figsize=(width, 1.1 * len(matrix.index) + 1.4))
    values = matrix.astype(int).to_numpy()
    ax.imshow(values, aspect="auto", cmap=ListedColormap(["#d9534f", "#5cb85c"]), vmin=0, vmax=1)
    ax.set_xticks(range(len(matrix.columns)), matrix.columns,
                  rotation=30 if len(matrix.columns) > 4 else 0, ha="right" if
                  len(matrix.columns) > 4 else "center")
    ax.set_yticks(range(len(matrix.index)), matrix.index)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for (i, j), ok in zip(((i, j) for i in range(values.shape[0])
                           for j in range(values.shape[1])), values.flat, strict=True):
        ax.text(j, i, words[0] if ok else words[1], ha="center", va="center", color="white",
                fontsize=10, fontweight="bold")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def legacy_mix(sizes: dict[int, int], seed: int = 0) -> dict[int, list[dict]]:
    """Generate legacy batches per version with non-overlapping ids (e.g. ``{1: 500, 2: 300}``)."""
    from opsbook.pipeline.customer_files import legacy_records

    out, next_id = {}, 1
    for version, n in sorted(sizes.items()):
        out[version] = legacy_records(n, version, seed=seed, first_id=next_id)
        next_id += n
    return out


def validate_upgrade_revalidate(batches: dict[int, list[dict]],
                                reg: SchemaRegistry | None = None) -> dict[str, Any]:
    """Validate each batch against its version, upgrade to the latest, and validate again.

    Args:
        batches: version → records.
        reg: registry (default: packaged).

    Returns:
        ``errors_before`` (version → list of :class:`FieldError`), ``upgraded`` (all records in
        the latest version), ``errors_after`` (list, should be empty) and ``target`` version.
    """
    reg = reg or registry()
    errors_before: dict[int, list[FieldError]] = {}
    upgraded: list[dict] = []
    for version, records in sorted(batches.items()):
        errors_before[version] = reg.validate(records, version)
        upgrade = reg.upgrader(version, reg.latest)
        upgraded += [upgrade(r) for r in records]
    return {"errors_before": errors_before, "upgraded": upgraded,
            "errors_after": reg.validate(upgraded, reg.latest), "target": reg.latest}


def validate_and_upgrade(records: Iterable[dict], source: int,
                         reg: SchemaRegistry | None = None) -> tuple[list[dict], list[FieldError]]:
    """The production path: validate every record, upgrade the valid ones to the latest version.

    Returns:
        (upgraded valid records, errors of the invalid ones).
    """
    reg = reg or registry()
    upgrade = reg.upgrader(source, reg.latest)
    out, errors = [], []
    for index, record in enumerate(records):
        problems = reg.validate_record(record, source, index)
        if problems:
            errors += problems
        else:
            out.append(upgrade(record))
    return out, errors


def write_summary_merged(day: int, updates: dict[str, Any]) -> dict[str, Any]:
    """Merge keys into ``evidencia/dia_<day>/resumen.json`` without dropping the others.

    Args:
        day: course day.
        updates: keys to add or replace (nested dicts are merged one level deep).

    Returns:
        The merged summary as written.
    """
    from opsbook.evidence import read_summary, write_summary

    try:
        current = read_summary(day)
    except FileNotFoundError:
        current = {}
    current.pop("day", None)
    current.pop("generated_at", None)
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            current[key] = {**current[key], **value}
        else:
            current[key] = value
    write_summary(day, current)
    return read_summary(day)
