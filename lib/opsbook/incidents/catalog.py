"""The incident catalog of the sales pipeline, read from ``incidents/incidents.yml``.

Why this module exists: the runbook engine, the drills, the post-mortems and the day-3
notebook all need the same answer to "what kind of incident is this alert, how bad is it,
what do we check and what do we do". That answer is DATA (a YAML file reviewed like any
other document), not ``if`` branches in the engine; this module only loads and validates it
and matches an Alertmanager alert to a catalog entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOG_FILE = Path(__file__).parent / "incidents.yml"
SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
CATEGORIES = ("connectivity", "data", "resources", "logic")


@dataclass(frozen=True)
class IncidentType:
    """One entry of the catalog.

    Attributes:
        key: catalog id (``pipeline_down``, ``data_corruption`` ...).
        category: ``connectivity``, ``data``, ``resources`` or ``logic``.
        title: Spanish title.
        severity: ``SEV-1`` (worst) .. ``SEV-4``.
        alert: name of the main Prometheus alert that detects it (its rule's
            ``incident_type`` label is :attr:`key`).
        diagnosis: diagnosis check names (see :mod:`opsbook.incidents.diagnostics`), in order.
        recovery: recovery action names (see :mod:`opsbook.incidents.recovery`), tried in order.
        verify: verification check names; all must pass for the incident to be recovered.
        auto: whether the runbook may act alone; when False it diagnoses and escalates.
    """

    key: str
    category: str
    title: str
    severity: str
    alert: str
    diagnosis: tuple[str, ...]
    recovery: tuple[str, ...]
    verify: tuple[str, ...]
    auto: bool

    @property
    def incident_type(self) -> str:
        """Value of the ``incident_type`` label of the rules that raise this type (its key)."""
        return self.key


@dataclass(frozen=True)
class Catalog:
    """The whole catalog: types, severity scale, escalation rules and metric definitions."""

    types: dict[str, IncidentType]
    severity_scale: dict[str, dict[str, Any]]
    escalation: dict[str, dict[str, Any]]
    metrics: dict[str, str]
    categories: dict[str, str]
    postmortem: dict[str, dict[str, Any]]

    def get(self, key: str) -> IncidentType:
        """Return one type by key.

        Raises:
            KeyError: with a Spanish message listing the known keys.
        """
        try:
            return self.types[key]
        except KeyError:
            known = ", ".join(sorted(self.types))
            raise KeyError(f"tipo de incidente {key!r} desconocido; usa uno de: {known}") from None

    def match(self, labels: dict[str, str]) -> IncidentType | None:
        """Find the type an alert belongs to.

        The ``incident_type`` label (a type key) wins; the main alert name is the fallback for an
        alert without that label. Returns None for an alert the catalog does not know.

        Args:
            labels: the alert's labels (``alertname``, ``incident_type``, ``severity`` ...).
        """
        wanted = labels.get("incident_type")
        if wanted:
            return self.types.get(wanted)
        name = labels.get("alertname")
        for item in self.types.values():
            if name and item.alert == name:
                return item
        return None

    def postmortem_for(self, key: str) -> dict[str, Any]:
        """Corrective actions (with owners) and prevention measures of one type."""
        return self.postmortem.get(key, self.postmortem["default"])

    def escalation_for(self, severity: str) -> dict[str, Any]:
        """Escalation rule (channel, recipients, deadline) of one severity."""
        return self.escalation[severity]

    def rows(self) -> list[dict[str, Any]]:
        """The catalog as flat rows (one per type) for tables and CSV evidence."""
        return [
            {
                "categoria": self.categories[t.category],
                "tipo": t.key,
                "titulo": t.title,
                "severidad": t.severity,
                "alerta": t.alert,
                "incident_type": t.incident_type,
                "diagnostico": ", ".join(t.diagnosis),
                "recuperacion": ", ".join(t.recovery) or "(escalar a una persona)",
                "automatico": t.auto,
            }
            for t in self.types.values()
        ]


def _validate(raw: dict[str, Any], path: Path) -> None:
    problems = []
    if tuple(raw.get("severity_scale", {})) != SEVERITIES:
        problems.append(f"severity_scale debe definir {SEVERITIES}")
    if set(raw.get("escalation", {})) != set(SEVERITIES):
        problems.append("escalation debe tener una regla por severidad")
    if tuple(raw.get("categories", {})) != CATEGORIES:
        problems.append(f"categories debe ser {CATEGORIES}")
    for key, item in raw.get("types", {}).items():
        for field in ("category", "title", "severity", "alert", "diagnosis", "recovery",
                      "verify", "auto"):
            if field not in item:
                problems.append(f"{key}: falta el campo {field!r}")
        if item.get("category") not in CATEGORIES:
            problems.append(f"{key}: categoría {item.get('category')!r} desconocida")
        if item.get("severity") not in SEVERITIES:
            problems.append(f"{key}: severidad {item.get('severity')!r} desconocida")
        if item.get("auto") and not item.get("recovery"):
            problems.append(f"{key}: auto=true necesita al menos una acción de recuperación")
    if problems:
        raise ValueError(f"catálogo de incidentes inválido ({path}): " + "; ".join(problems))


def load_catalog(path: Path | str = CATALOG_FILE) -> Catalog:
    """Load and validate a catalog file.

    Args:
        path: YAML file (default: the packaged ``incidents/incidents.yml``).

    Raises:
        ValueError: listing every problem found (Spanish), so the file can be fixed at once.
    """
    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    _validate(raw, path)
    types = {
        key: IncidentType(
            key=key,
            category=item["category"],
            title=item["title"],
            severity=item["severity"],
            alert=item["alert"],
            diagnosis=tuple(item["diagnosis"]),
            recovery=tuple(item["recovery"]),
            verify=tuple(item["verify"]),
            auto=bool(item["auto"]),
        )
        for key, item in raw["types"].items()
    }
    return Catalog(
        types=types,
        severity_scale=raw["severity_scale"],
        escalation=raw["escalation"],
        metrics=raw["metricas"],
        categories=raw["categories"],
        postmortem=raw.get("postmortem", {"default": {"acciones": [], "prevencion": []}}),
    )


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The packaged catalog, loaded once per process."""
    return load_catalog()
