"""Day-1 helpers: run the DAG test suite with pytest, read its JUnit XML, chart the result.

Why this module exists: the day-1 notebook runs the same suite CI runs (``tests/dags``) as a
separate ``pytest --junitxml`` process, so what the student sees is exactly what the pipeline
gate sees; this module holds that plumbing (subprocess, throw-away ``AIRFLOW_HOME``, JUnit →
pandas, per-file summary and chart) so the notebook cells stay one call each. It also runs the
DAG inspector (:mod:`opsbook.airflow.dag_inspect`) for ``tests/dags/conftest.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from opsbook.airflow.dag_inspect import MARKER
from opsbook.settings import settings

SUITE = "tests/dags"
FOLDER_ENV = "OPSBOOK_DAGTEST_FOLDER"
"""Environment variable that points the suite at another DAG folder (default ``dags/``)."""
PARSE_ENV = {
    "AIRFLOW_VAR_UMBRAL_VENTAS": "10",
    "AIRFLOW_CONN_WAREHOUSE": "sqlite:///tmp/opsbook_warehouse_test.sqlite",
}
"""Variables and connections patched through the environment, as the Airflow docs recommend
for DAG tests (no metadata DB needed); the inspector still records any parse-time lookup."""
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed")


def dag_folder() -> Path:
    """The DAG folder under test (``dags/`` unless ``OPSBOOK_DAGTEST_FOLDER`` says otherwise)."""
    return Path(os.environ.get(FOLDER_ENV) or settings.dags_dir).resolve()


def project_dag_files() -> set[str]:
    """Names of the repository's DAG files (``dags/*.py`` as the suite sees them)."""
    from opsbook.airflow.dag_inspect import dag_files

    return {p.name for p in dag_files(settings.dags_dir)}


def check_params(suite: str, timeout_s: float) -> dict:
    """Validate the notebook parameters.

    Args:
        suite: path, relative to the repository, of the tests to run (``tests/dags`` or one
            of its files).
        timeout_s: deadline of each pytest run, 30..3600 s.

    Raises:
        ValueError: with a Spanish message saying what to change.
    """
    path = settings.root / suite
    if not str(suite).startswith(SUITE) or not path.exists():
        raise ValueError(f"suite={suite!r} no es una ruta de {SUITE}/: usa 'tests/dags' o "
                         "'tests/dags/test_dag_sintaxis.py'")
    if not 30 <= float(timeout_s) <= 3600:
        raise ValueError(f"timeout_s={timeout_s!r} fuera de rango: usa entre 30 y 3600 segundos")
    return {"suite": suite, "timeout_s": float(timeout_s)}


def throwaway_env(workdir: Path) -> dict[str, str]:
    """Environment for Airflow with an empty ``AIRFLOW_HOME`` under ``workdir`` (no stack).

    The project's own Airflow configuration (:func:`opsbook.airflow.env.airflow_env`) on a
    copy of the settings whose ``var`` is ``workdir``; StatsD off so nothing reaches a stack.
    """
    from opsbook.airflow.env import airflow_env

    cfg = dataclasses.replace(settings, var=Path(workdir).resolve())
    cfg.airflow_home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **airflow_env(cfg), **PARSE_ENV}
    env.update({
        "AIRFLOW__METRICS__STATSD_ON": "False",
        "OPSBOOK_VAR_DIR": str(cfg.var),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.root / "lib"),
                                                    os.environ.get("PYTHONPATH")])),
        "PYTHONWARNINGS": "ignore",
    })
    return env


def inspect_dags(folder: Path, workdir: Path, timeout_s: float = 600) -> dict[str, dict]:
    """Run ``python -m opsbook.airflow.dag_inspect folder`` in a throw-away Airflow home.

    Raises:
        RuntimeError: when the inspector does not produce its report (stderr tail included).
    """
    proc = subprocess.run([sys.executable, "-m", "opsbook.airflow.dag_inspect", str(folder)],
                          env=throwaway_env(workdir), capture_output=True, text=True,
                          timeout=timeout_s, cwd=settings.root)
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise RuntimeError(f"el inspector de DAGs falló (código {proc.returncode}): "
                       f"{proc.stderr[-1500:]}")


@dataclasses.dataclass
class SuiteRun:
    """One pytest run of the DAG suite."""

    returncode: int
    seconds: float
    junit: Path
    output_tail: str


def run_dag_tests(junit: Path, suite: str = SUITE, folder: Path | None = None,
                  timeout_s: float = 900, extra_args: tuple[str, ...] = ()) -> SuiteRun:
    """Run the DAG suite with pytest in a subprocess and write its JUnit XML.

    Args:
        junit: where to write the JUnit XML.
        suite: tests to run, relative to the repository root.
        folder: DAG folder the integrity/policy suite inspects (default ``dags/``).
        timeout_s: deadline of the pytest process.
        extra_args: more pytest arguments.

    Returns:
        Exit code, wall seconds, JUnit path and the last lines of the output.
    """
    env = {**os.environ}
    env.pop(FOLDER_ENV, None)
    if folder is not None:
        env[FOLDER_ENV] = str(Path(folder).resolve())
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o",
           "junit_family=xunit1", f"--junitxml={junit}", suite, *extra_args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=settings.root, env=env, capture_output=True, text=True,
                          timeout=timeout_s)
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    return SuiteRun(proc.returncode, round(time.perf_counter() - started, 2), Path(junit), tail)


_PARAM = re.compile(r"\[(.*)\]$")


def junit_frame(junit: Path) -> pd.DataFrame:
    """One row per test case of a JUnit XML file.

    Columns: ``test_file``, ``test``, ``check`` (function name), ``dag_file``, ``rule``,
    ``outcome`` (passed/failed/error/skipped/xfailed), ``seconds``, ``message`` and any
    ``record_property`` values (e.g. ``parse_cpu_seconds``).
    """
    rows = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                message = node.get("message", "") or (node.text or "")[:300]
                outcome = tag if tag != "failure" else "failed"
                if tag == "skipped" and "xfail" in (node.get("type", "") + message):
                    outcome = "xfailed"
                break
        param = _PARAM.search(name)
        rows.append({
            "test_file": case.get("file") or case.get("classname", "").split(".")[-1] + ".py",
            "test": name,
            "check": name.split("[")[0],
            "dag_file": props.pop("dag_file", None) or (param.group(1).split("-")[0]
                                                        if param else ""),
            "rule": props.pop("rule", ""),
            "outcome": outcome,
            "seconds": float(case.get("time", 0) or 0),
            "message": message.strip().splitlines()[0][:240] if message.strip() else "",
            **props,
        })
    return pd.DataFrame(rows)


def by_file(frame: pd.DataFrame) -> pd.DataFrame:
    """Tests per DAG file: one column per outcome plus the file's parse time (CPU and wall).

    Parse times come from the ``parse_*`` properties the parse-budget test records; per-test
    JUnit times are not used per file (the first test of the session also pays the shared
    inspection, so they would mislead).
    """
    frame = frame[frame["dag_file"] != ""]
    table = frame.pivot_table(index="dag_file", columns="outcome", values="test",
                              aggfunc="count", fill_value=0)
    for outcome in OUTCOMES:
        if outcome not in table:
            table[outcome] = 0
    table = table[list(OUTCOMES)].astype(int)
    for column, prop in (("parse_cpu_s", "parse_cpu_seconds"), ("parse_wall_s", "parse_seconds")):
        values = pd.to_numeric(frame.get(prop, pd.Series(dtype=float)), errors="coerce")
        table[column] = frame.assign(v=values).groupby("dag_file")["v"].max().round(3)
    return table.sort_index()


def failed_files(frame: pd.DataFrame) -> set[str]:
    """DAG files named by at least one failed or erroring test (from its id or message)."""
    bad = frame[frame["outcome"].isin(["failed", "error"])]
    return {f for f in bad["dag_file"] if f} | {
        m.group(0) for msg in bad["message"] for m in re.finditer(r"[\w.-]+\.py", msg)}


LABELS = {"passed": "pasa", "failed": "falla", "error": "error", "skipped": "omitida",
          "xfailed": "excepción declarada"}


def plot_results(frame: pd.DataFrame, title: str = "Batería de pruebas de DAGs"):
    """Stacked bars of tests per DAG file by outcome, and parse time (CPU and wall) per file.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    table = by_file(frame)
    colors = {"passed": "#2e7d32", "failed": "#c62828", "error": "#6a1b9a",
              "skipped": "#9e9e9e", "xfailed": "#f9a825"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    bottom = None
    for outcome in OUTCOMES:
        values = table[outcome]
        if values.sum():
            left.barh(table.index, values, left=bottom, color=colors[outcome],
                      label=LABELS[outcome])
            bottom = values if bottom is None else bottom + values
    left.set_xlabel("pruebas (número)")
    left.set_title("Pruebas por fichero de DAG")
    left.legend(loc="lower right", fontsize=8)
    parsed = table.dropna(subset=["parse_cpu_s"])
    y = range(len(parsed))
    right.barh([i + 0.2 for i in y], parsed["parse_wall_s"], height=0.4, color="#90caf9",
               label="reloj")
    right.barh([i - 0.2 for i in y], parsed["parse_cpu_s"], height=0.4, color="#1565c0",
               label="CPU")
    right.set_yticks(list(y), list(parsed.index))
    right.set_xlabel("tiempo de parseo del fichero (s)")
    right.set_title("Coste del código de nivel superior")
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def import_errors_frame(bundle_name: str | None = None) -> pd.DataFrame:
    """The live stack's import errors (REST ``importErrors``) as a table.

    Columns: ``bundle``, ``file``, ``error`` (last line of the traceback), ``timestamp``.
    """
    from opsbook.airflow.client import import_errors

    rows = [{"bundle": e.get("bundle_name"), "file": Path(e["filename"]).name,
             "error": (e.get("stack_trace") or "").strip().splitlines()[-1][:160]
             if e.get("stack_trace") else "", "timestamp": e.get("timestamp")}
            for e in import_errors(bundle_name=bundle_name)]
    return pd.DataFrame(rows, columns=["bundle", "file", "error", "timestamp"])


def verification_answers(facts: dict) -> str:
    """Spanish answers to the day's verification questions, built from measured ``facts``.

    Args:
        facts: ``tests_passed``, ``tests_failed``, ``suite_seconds``, ``dag_files``,
            ``parse_cpu_max_s`` (+ ``parse_cpu_file``), ``parse_budget_s``,
            ``drill_suite_caught``, ``drill_samples``, ``drill_live_detected``,
            ``drill_detect_max_s``, ``drill_cleared_after_s``, ``min_file_process_interval_s``.
    """
    f = facts
    share = 100 * f["parse_cpu_max_s"] / f["min_file_process_interval_s"]
    return f"""
**1. ¿En qué se diferencia CI/CD de una aplicación web del de un pipeline de datos?**

En una aplicación web, el código desplegado *es* el producto y una prueba unitaria verde dice
mucho. En un pipeline, el código es solo la mitad: la otra mitad son los **datos** y el
**planificador**. Un DAG ni siquiera llega a ejecutarse si no se puede *importar*: el
dag-processor vuelve a parsear cada fichero cada {f['min_file_process_interval_s']:.0f} s y, si
falla, el DAG desaparece de la interfaz en silencio. Por eso nuestro CI añade una puerta que una
web no necesita: integridad y política de **cada fichero de DAG** (aquí {f['dag_files']}
ficheros, {f['tests_passed']} pruebas verdes y {f['tests_failed']} fallidas), además de
ejecutar el DAG de verdad (`dag.test()`) con datos limpios y con un fallo provocado. Y el
despliegue no termina con el código: hay que comprobar que la pila lo acepta — en el simulacro,
la propia pila informó de {f['drill_live_detected']} de {f['drill_samples']} ficheros rotos
por la API REST en ≤ {f['drill_detect_max_s']:.0f} s, y volvió a 0 errores
{f['drill_cleared_after_s']:.0f} s después de retirarlos.

**2. ¿Cómo se consiguen pruebas de DAG rápidas y fiables?**

*Rápidas*: sin pila, sin red y sin base de datos (un `AIRFLOW_HOME` vacío y temporal): la
batería de integridad y política tardó {f['suite_seconds']:.0f} s de reloj en esta máquina
compartida, casi todo en importar Airflow una vez. Cada fichero se
parsea en un proceso hijo recién bifurcado, como hace el dag-processor, y se mide su CPU: el
más caro ({f['parse_cpu_file']}) gasta {f['parse_cpu_max_s']:.2f} s de CPU por parseo, es
decir ≈ {share:.0f} % de un núcleo de forma permanente; por eso la política fija un presupuesto
de {f['parse_budget_s']:.1f} s y pide mover los imports pesados dentro de las tareas.
*Fiables*: una prueba por (fichero, regla), de modo que el fallo **nombra el fichero** (la
suite señaló {f['drill_suite_caught']} de {f['drill_samples']} muestras rotas por su nombre);
medimos CPU y no tiempo de reloj para no depender de la carga; las Variables y Connections se
simulan con `AIRFLOW_VAR_*`/`AIRFLOW_CONN_*` y cualquier consulta al parsear se detecta; y las
excepciones a la política son explícitas y estrictas (si una excepción deja de hacer falta, la
suite falla hasta que se retire).
"""
