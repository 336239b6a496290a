"""Readable errors for what a student gets wrong: PromQL, DAG imports, failed or stuck runs."""

import pytest
from opsbook.airflow import errors
from opsbook.errors import FULL_TRACEBACK_HINT
from opsbook.observability import prom
from opsbook.waiting import elapsed_bar
from prometheus_api_client import PrometheusApiClientException

pytestmark = pytest.mark.unit

PROM_400 = ("HTTP Status Code 400 (b'{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
            "\"invalid parameter \\\\\"query\\\\\": 1:24: parse error: unclosed left "
            "parenthesis\"}')")
"""The text prometheus-api-client 0.7.2 puts in its exception for a bad expression."""

SYNTAX_TRACE = (
    'Traceback (most recent call last):\n'
    '  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed\n'
    '  File "/opt/dags/mi_dag.py", line 12\n'
    '    @dag(dag_id="mi_dag", schedule=None,\n'
    '        ^\n'
    "SyntaxError: '(' was never closed\n")


def test_bad_promql_shows_prometheus_text_and_where():
    def refuse():
        raise PrometheusApiClientException(PROM_400)

    with pytest.raises(prom.PromQLError) as info:
        prom._call(refuse, "sum(rate(airflow_x[1m])")
    err = info.value
    assert err.prometheus_error == "1:24: parse error: unclosed left parenthesis"
    lines = str(err).splitlines()
    assert lines[1] == "    sum(rate(airflow_x[1m])" and lines[2].index("^") == 4 + 23
    assert isinstance(err.__cause__, PrometheusApiClientException), "full traceback kept"
    assert err._render_traceback_()[-1] == FULL_TRACEBACK_HINT


def test_unreachable_prometheus_names_make_stack_up():
    def refuse():
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(prom.PromQueryError, match="make stack-up"):
        prom._call(refuse, "up")


def test_import_error_gives_file_and_line():
    problem = errors.import_problem({"filename": "/opt/dags/mi_dag.py",
                                     "stack_trace": SYNTAX_TRACE})
    assert (problem.line, problem.error) == (12, "SyntaxError: '(' was never closed")
    assert problem.code.startswith("@dag(")
    msg = str(errors.DagImportError([problem], "mi_dag"))
    assert "/opt/dags/mi_dag.py, línea 12: SyntaxError" in msg and "'mi_dag'" in msg
    cycle = errors.import_problem({"filename": "ciclo.py",
                                   "stack_trace": "AirflowDagCycleException: Cycle detected"})
    assert cycle.line is None and str(cycle) == "ciclo.py: AirflowDagCycleException: Cycle detected"


def test_failed_and_stuck_runs_link_to_the_ui():
    run_id = "manual__2026-12-05T08:00:00+00:00"
    err = errors.DagRunError("pipeline_ventas", run_id, "failed", "http://127.0.0.1:8080",
                             ["transform"])
    url = "http://127.0.0.1:8080/dags/pipeline_ventas/runs/manual__2026-12-05T08%3A00%3A00%2B00%3A00"
    assert err.url == url and url in str(err) and "'failed'" in str(err)
    assert f"{url}/tasks/transform" in str(err)
    stuck = errors.DagRunTimeout("pipeline_ventas", run_id, "running", 60, "http://h:1")
    assert isinstance(stuck, TimeoutError), "callers catching TimeoutError keep working"
    assert "no terminó en 60 s" in str(stuck) and "'running'" in str(stuck)


def test_progress_bar_only_in_a_kernel():
    bar = elapsed_bar("espera", 10)
    assert bar.disable, "no bar outside Jupyter (tests, services, CLI)"
    bar.n = 3
    bar.set_postfix_str("running")
    bar.close()
