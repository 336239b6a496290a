"""Alert rules and Alertmanager routing, checked by the real tools (promtool, amtool)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from opsbook.incidents import catalog as incidents
from opsbook.observability import signals
from opsbook.settings import settings

pytestmark = pytest.mark.unit

MON = settings.monitoring_dir
RULES = sorted((MON / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((MON / "prometheus" / "tests").glob("*.yml"))
AM_CONFIG = MON / "alertmanager" / "alertmanager.yml"
SYLLABUS_TYPES = {"pipeline_down", "dag_failure", "data_corruption", "resource_contention",
                  "stale_data", "db_unreachable"}
"""Catalog types of the syllabus's day-2 alerts (each watched by a warning and a critical)."""


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.fail(f"no encuentro '{name}': ejecuta 'make setup' (instala prometheus y "
                    "prometheus-alertmanager)")
    return path


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=MON)


def test_there_are_rules_and_rule_tests():
    assert RULES, "no hay reglas en monitoring/prometheus/rules/"
    assert RULE_TESTS, "no hay tests de reglas en monitoring/prometheus/tests/"


def test_promtool_check_rules():
    proc = _run(_tool("promtool"), "check", "rules", *map(str, RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_unit_tests_pass():
    proc = _run(_tool("promtool"), "test", "rules", *map(str, RULE_TESTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_check_prometheus_config(tmp_path):
    """The config the stack generates loads and finds every rule file."""
    from opsbook.stack import service_configs

    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(service_configs.prometheus_config(settings)))
    proc = _run(_tool("promtool"), "check", "config", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(RULES)} rule files found" in proc.stdout or all(
        str(r) in proc.stdout for r in RULES), proc.stdout


def test_promtool_check_compose_config_syntax():
    """The compose copy (container paths for the rules, so syntax only)."""
    config = MON / "prometheus" / "prometheus.yml"
    if not config.exists():
        pytest.skip("sin monitoring/prometheus/prometheus.yml (configuración de compose)")
    proc = _run(_tool("promtool"), "check", "config", "--syntax-only", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_amtool_check_config():
    proc = _run(_tool("amtool"), "check-config", str(AM_CONFIG))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("labels", "receiver"), [
    ("severity=critical", "webhook-critical"),
    ("severity=warning", "webhook-warning"),
    ("severity=critical escalate=human", "human-pager"),
    ("severity=warning escalate=human", "webhook-warning"),
])
def test_severities_route_to_different_receivers(labels, receiver):
    proc = _run(_tool("amtool"), "config", "routes", "test",
                f"--config.file={AM_CONFIG}", "alertname=X", *labels.split())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == receiver


def test_alertmanager_contract():
    cfg = yaml.safe_load(AM_CONFIG.read_text())
    route = cfg["route"]
    assert route["group_by"] == ["alertname", "dag_id"]
    urls = {r["name"]: r["webhook_configs"][0] for r in cfg["receivers"]}
    assert urls["webhook-warning"]["url"].endswith("/alerts/warning")
    assert urls["webhook-critical"]["url"].endswith("/alerts/critical")
    assert urls["human-pager"]["url"].endswith("/alerts/human")
    assert all(w["send_resolved"] for w in urls.values())


def test_every_alert_is_labelled_and_unit_tested():
    tested = set()
    for path in RULE_TESTS:
        tested |= set(re.findall(r"alertname:\s*(\w+)", path.read_text()))
    alerts = signals.alert_rules()
    assert len(alerts) >= 6
    for rule in alerts:
        assert rule.severity in {"warning", "critical"}, rule.name
        assert rule.incident_type in incidents.catalog().types, rule.name
        assert "$value" not in " ".join(rule.annotations.values()), rule.name
        assert rule.name in tested, f"{rule.name} no tiene test de promtool"
    # the syllabus's escalation: every incident type watched by a warning also has a critical
    kinds = {(r.incident_type, r.severity) for r in alerts}
    assert SYLLABUS_TYPES <= {incident for incident, _ in kinds}
    for incident, severity in kinds:
        if severity == "warning" and incident in SYLLABUS_TYPES:
            assert (incident, "critical") in kinds, incident
