"""Integrity and team policy of every DAG file, one test per (file, check) so a failure names
the file. No stack, no network: see conftest.py. Run time is reported by pytest (and by the
day-1 notebook, which runs this suite with ``--junitxml``).

Checks: the file imports (no ``DagBag`` import errors: syntax, missing module, cycle), it
defines at least one DAG, its top-level code fits the parse budget (CPU seconds, measured in a
fresh fork per file like the dag-processor), and the policy rules of ``opsbook.airflow.dag_policy``
(owner, tags, retries >= 2, no cycles, explicit catchup, fixed start_date, no Variable /
Connection lookups at parse time).

Waivers are explicit, reasoned and strict: a waived (file, rule) that starts passing makes the
suite fail until the waiver is removed.
"""

from __future__ import annotations

import pytest
from opsbook.airflow.dag_inspect import dag_files
from opsbook.airflow.dag_policy import PARSE_BUDGET_CPU_S, RULES, over_budget, violations
from opsbook.airflow.dagtests import dag_folder

FILES = [p.name for p in dag_files(dag_folder())]
WAIVERS: dict[tuple[str, str], str] = {}


def report_of(dag_reports, name):
    assert name in dag_reports, f"{name}: el inspector no devolvió informe"
    return dag_reports[name]


def test_folder_has_dag_files():
    assert FILES, f"{dag_folder()}: no hay ficheros .py de DAGs"


@pytest.mark.parametrize("name", FILES)
def test_no_import_errors(dag_reports, name, record_property):
    report = report_of(dag_reports, name)
    record_property("dag_file", name)
    errors = report["import_errors"]
    last_lines = "; ".join(e.strip().splitlines()[-1] for e in errors.values())
    assert not errors, f"{name}: error de importación → {last_lines}"


@pytest.mark.parametrize("name", FILES)
def test_defines_a_dag(dag_reports, name, record_property):
    record_property("dag_file", name)
    dags = report_of(dag_reports, name)["dags"]
    assert dags, f"{name}: no define ningún DAG"


@pytest.mark.parametrize("name", FILES)
def test_parse_time_within_budget(dag_reports, name, record_property):
    report = report_of(dag_reports, name)
    record_property("dag_file", name)
    record_property("parse_seconds", report["parse_seconds"])
    record_property("parse_cpu_seconds", report["parse_cpu_seconds"])
    assert report["parse_cpu_seconds"] is not None, f"{name}: no se pudo medir el parseo"
    problem = over_budget(report, PARSE_BUDGET_CPU_S)
    assert problem is None, problem


def _policy_params():
    for name in FILES:
        for rule in RULES:
            marks = []
            if (name, rule) in WAIVERS:
                marks = [pytest.mark.xfail(strict=True, reason=WAIVERS[(name, rule)])]
            yield pytest.param(name, rule, id=f"{name}-{rule}", marks=marks)


@pytest.mark.parametrize(("name", "rule"), list(_policy_params()))
def test_policy(dag_reports, name, rule, record_property):
    report = report_of(dag_reports, name)
    record_property("dag_file", name)
    record_property("rule", rule)
    if report["import_errors"] or not report["dags"]:
        pytest.skip(f"{name}: no importa o no define DAGs; ver test_no_import_errors")
    found = violations(report, rule)
    assert not found, f"{RULES[rule][0]}: " + " | ".join(found)
