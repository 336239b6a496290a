"""Alertmanager webhook bodies for the receiver tests (unit and adversarial).

A plain module, not ``conftest``: ``from conftest import ...`` resolves to whichever
``conftest.py`` pytest imported last (``tests/dags/`` has its own), so it breaks when the whole
suite is collected.
"""

from __future__ import annotations


def alert_payload(name: str = "PipelineDagFailed", status: str = "firing",
                  fingerprint: str = "fp1", starts: str = "2026-12-05T08:00:00Z",
                  **labels: str) -> dict:
    """An Alertmanager webhook body (version 4), one alert of a rule of ``tests/conftest.py``."""
    static = {"PipelineDagFailed": {"severity": "warning", "incident_type": "dag_failure",
                                    "dag_id": "pipeline_ventas"},
              "AirflowApiDown": {"severity": "critical", "incident_type": "api_down"}}
    alert_labels = {"alertname": name, **static.get(name, {}), **labels}
    return {"version": "4", "status": status, "receiver": "webhook-warning",
            "groupLabels": {"alertname": name}, "commonLabels": alert_labels,
            "alerts": [{"status": status, "labels": alert_labels, "annotations": {},
                        "startsAt": starts, "fingerprint": fingerprint}]}
