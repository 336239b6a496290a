"""The DAG suite fails, naming the file, for each deliberately broken DAG; helpers behave."""

from __future__ import annotations

import pytest
from opsbook.airflow import dag_drill, dag_policy, dagtests

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """The real suite (pytest subprocess) pointed at a folder with every broken sample."""
    work = tmp_path_factory.mktemp("broken")
    folder = dag_drill.stage_folder(work / "dags", dag_drill.sample_names(),
                                    with_project_dags=False)
    run = dagtests.run_dag_tests(work / "junit.xml", "tests/dags/test_dag_sintaxis.py", folder)
    return run, dagtests.junit_frame(run.junit)


@pytest.mark.slow
def test_suite_fails_naming_each_broken_file(broken_run):
    run, frame = broken_run
    assert run.returncode == 1, run.output_tail
    named = dagtests.failed_files(frame)
    for sample in dag_drill.DRILL_SAMPLES:
        assert f"{sample}.py" in named, (sample, run.output_tail)
    import_failures = frame[(frame.check == "test_no_import_errors") & (frame.outcome == "failed")]
    assert set(import_failures.dag_file) == {f"{s}.py" for s in dag_drill.DRILL_SAMPLES}
    for _, row in import_failures.iterrows():
        assert row.message.startswith(f"AssertionError: {row.dag_file}") or \
            row.dag_file in row.message


@pytest.mark.slow
def test_policy_sample_imports_but_breaks_each_rule(broken_run):
    _, frame = broken_run
    rows = frame[frame.dag_file == f"{dag_drill.POLICY_SAMPLE}.py"]
    outcome = dict(zip(rows.test, rows.outcome, strict=True))
    assert outcome["test_no_import_errors[politica_incumplida.py]"] == "passed"
    failed_rules = set(rows[(rows.check == "test_policy") & (rows.outcome == "failed")].rule)
    assert failed_rules == {"owner", "tags", "retries", "catchup_explicit", "start_date_fixed",
                            "no_parse_time_lookups"}


def test_find_cycle():
    assert dag_policy.find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert dag_policy.find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]


def test_explicit_catchup_reads_the_source():
    from opsbook.airflow.dag_inspect import explicit_catchup

    assert explicit_catchup("@dag(schedule=None, catchup=False)\ndef f(): pass") is True
    assert explicit_catchup("with DAG('x', schedule=None):\n    pass") is False
    assert explicit_catchup("def (") is None


def test_samples_are_never_python_files():
    assert dag_drill.SAMPLES_DIR.is_dir()
    assert not list(dag_drill.SAMPLES_DIR.glob("*.py"))
    assert set(dag_drill.DRILL_SAMPLES) < set(dag_drill.sample_names())
    with pytest.raises(ValueError, match="desconocida"):
        dag_drill.sample_source("no_existe")


def test_check_params_rejects_bad_values():
    assert dagtests.check_params("tests/dags", 300)["timeout_s"] == 300
    with pytest.raises(ValueError, match="suite="):
        dagtests.check_params("tests/unit", 300)
    with pytest.raises(ValueError, match="timeout_s="):
        dagtests.check_params("tests/dags", 5)
