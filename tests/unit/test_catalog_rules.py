"""The incident catalog and the Prometheus rules agree: every type is raised, every rule is typed.

The catalog (``lib/opsbook/incidents/incidents.yml``) and the rules
(``monitoring/prometheus/rules/*.yml``) are two files edited by different people; these tests
fail as soon as a type can no longer be raised, a rule names a type the catalog does not know,
two types share an alert, or a host rule stops using the PromQL of its signal.
"""

from __future__ import annotations

import io
from collections import defaultdict
from contextlib import redirect_stdout

import pytest
from opsbook.incidents import catalog as incidents
from opsbook.incidents.catalog import CATEGORIES
from opsbook.incidents.runbook import Outcome, Runbook
from opsbook.incidents.timeline import IncidentStore
from opsbook.observability import signals

pytestmark = pytest.mark.unit

HOST_RULES = {
    "StackHighResourceUsage": ("host_cpu_busy", "host_memory_used"),
    "StackDiskFull": ("host_disk_used",),
    "AirflowApiDown": ("api_server_state",),
}
"""Alert → signals of :data:`opsbook.observability.signals.HOST_SIGNALS` it must embed."""


@pytest.fixture(scope="module")
def rules():
    return signals.alert_rules()


def test_at_least_twelve_types_in_the_four_categories():
    cat = incidents.catalog()
    assert len(cat.types) >= 12
    per_category = defaultdict(int)
    for item in cat.types.values():
        per_category[item.category] += 1
    assert set(per_category) == set(CATEGORIES)
    assert min(per_category.values()) >= 3, dict(per_category)


def test_every_rule_raises_a_catalog_type(rules):
    types = incidents.catalog().types
    untyped = [r.name for r in rules if r.incident_type not in types]
    assert not untyped, f"reglas con incident_type fuera del catálogo: {untyped}"


def test_every_catalog_type_is_raised_by_a_rule(rules):
    raised = {r.incident_type for r in rules}
    never = sorted(set(incidents.catalog().types) - raised)
    assert not never, f"tipos que ninguna regla puede disparar: {never}"


def test_an_alert_name_belongs_to_one_type_only(rules):
    types_of = defaultdict(set)
    for rule in rules:
        types_of[rule.name].add(rule.incident_type)
    shared = {name: sorted(t) for name, t in types_of.items() if len(t) > 1}
    assert not shared, f"alertas compartidas por varios tipos: {shared}"


def test_the_alert_named_in_the_catalog_raises_that_type(rules):
    by_name = {r.name: r for r in rules}
    for item in incidents.catalog().types.values():
        assert item.alert in by_name, f"{item.key}: la alerta {item.alert} no existe"
        assert by_name[item.alert].incident_type == item.key, item.key


def test_match_of_every_rule_gives_its_type(rules):
    cat = incidents.catalog()
    for rule in rules:
        found = cat.match({"alertname": rule.name, **rule.labels})
        assert found is not None and found.key == rule.incident_type, rule.name


@pytest.mark.parametrize(("alert", "signal_ids"), sorted(HOST_RULES.items()))
def test_host_rules_embed_the_promql_of_their_signals(rules, alert, signal_ids):
    rule = next(r for r in rules if r.name == alert)
    for signal_id in signal_ids:
        assert signals.rule_uses(rule.expr, signal_id), f"{alert} no usa la señal {signal_id}"


def test_every_node_exporter_rule_is_checked_against_signals(rules):
    reads_node = {r.name for r in rules if "node_" in r.expr}
    assert reads_node == set(HOST_RULES)


def test_rule_uses_detects_a_copied_expression_that_drifted():
    drifted = signals.get("host_cpu_busy").expr.replace("[2m]", "[5m]") + " > 0.95"
    assert not signals.rule_uses(drifted, "host_cpu_busy")


@pytest.mark.parametrize("key", sorted(k for k, t in incidents.catalog().types.items()
                                       if not t.auto))
def test_a_type_without_automatic_recovery_escalates_to_a_person(tmp_path, key):
    item = incidents.catalog().get(key)
    assert item.recovery == (), f"{key}: acciones sin auto=true nunca se ejecutan"
    ran: list[str] = []

    def check(name):
        return lambda ctx: ran.append(name) or Outcome(True, name)

    names = {*item.diagnosis, *item.verify}
    rb = Runbook({n: check(n) for n in names}, {}, IncidentStore(tmp_path))
    alert = {"status": "firing", "fingerprint": f"fp-{key}",
             "labels": {"alertname": item.alert, "incident_type": key, "severity": "critical"},
             "startsAt": "2026-11-26T10:00:00Z"}
    ids = rb.handle({"alerts": [alert]}, background=False)
    incident = rb.store.load(ids[0])
    assert incident.status == "escalated"
    assert ran == list(item.diagnosis)  # diagnosed, nothing "verified" without an action
    page = rb.store.pages()[0]
    assert page["type"] == key and page["severity"] == item.severity


def test_runbook_catalog_command_prints_the_table():
    from opsbook.cli.main import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["runbook", "catalog"]) == 0
    lines = out.getvalue().splitlines()
    cat = incidents.catalog()
    assert len(lines) == len(cat.types)
    for line, item in zip(lines, cat.types.values(), strict=True):
        assert line.split()[0] == item.severity
        assert cat.categories[item.category] in line
        assert f" {item.key} " in line and line.endswith(item.alert)
