"""DAG tests run with NO stack: an empty, throw-away AIRFLOW_HOME prepared here.

The integrity/policy suite never imports Airflow in the pytest process: the session fixture
below creates a temporary ``var`` (empty ``AIRFLOW_HOME``, its own secrets, StatsD off, the
``AIRFLOW_VAR_*``/``AIRFLOW_CONN_*`` doubles of ``opsbook.airflow.dagtests.PARSE_ENV``) and runs the
DAG inspector there, which imports Airflow once and forks one child per DAG file, like the
dag-processor. ``OPSBOOK_DAGTEST_FOLDER`` points the suite at another folder (the day-1
drill and ``tests/unit/test_dagtests.py`` use it with the deliberately broken samples).
"""

from __future__ import annotations

import time

import pytest
from opsbook.airflow.dagtests import dag_folder, inspect_dags


@pytest.fixture(scope="session")
def dag_reports(tmp_path_factory) -> dict[str, dict]:
    """File name → inspector report for every DAG file of :func:`dag_folder`."""
    started = time.perf_counter()
    reports = inspect_dags(dag_folder(), tmp_path_factory.mktemp("airflow_var"))
    reports["__elapsed__"] = {"seconds": round(time.perf_counter() - started, 2)}
    return reports
