"""DAG code shipped as a versioned bundle (``GitDagBundle``) vs the plain, unversioned folder.

Why this module exists: a blue-green deploy replaces the servers, but the DAG code changes
under running DAG runs too. With Airflow 3's ``GitDagBundle`` (provider
``apache-airflow-providers-git``) over a local git repository of DAG releases
(``var/dag_releases``), every DAG run is pinned to the commit it started on: a run that began on
release v1 finishes on v1 while new runs take v2. The same DAG in a plain local folder
(``var/dag_plain``, a ``LocalDagBundle``) has no versions: a running run picks up the edited
code in its next task. The Celery mode adds both bundles (see :func:`bundle_configs`), and
:func:`versioning_experiment` shows the contrast with two runs per bundle.

The same git bundle carries the application release a blue-green deploy ships
(:func:`publish_app`): the ``informe_release`` DAG, whose code differs per release, plus a
``release.json`` manifest naming the version and the customer schema it writes
(:func:`deployed_app` reads it back: what is in production now).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from opsbook import records
from opsbook.settings import Settings, settings
from opsbook.waiting import wait_until

GIT_BUNDLE = "releases"
PLAIN_BUNDLE = "plain"
DAG_GIT = "version_demo"
DAG_PLAIN = "version_demo_plain"

_TEMPLATE = '''"""Release {version} of {dag_id}: which code version runs each task (day 4)."""

import time
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import dag, task

VERSION = "{version}"
MARKERS = Path("{markers}")


@dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
     tags=["dia4", "versionado"], params={{"wait_s": 20}},
     default_args={{"owner": "equipo-datos", "retries": 2, "retry_delay": timedelta(seconds=2)}})
def demo():
    @task
    def inicio(params=None, run_id=None):
        MARKERS.mkdir(parents=True, exist_ok=True)
        name = "{dag_id}__" + run_id.replace(":", "_")
        (MARKERS / name).write_text(VERSION)
        # Hold until the experiment has published the next release (or wait_s at most).
        deadline = time.monotonic() + float(params["wait_s"])
        while not (MARKERS / (name + "{go_on}")).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        return VERSION

    @task
    def fin(version_inicio):
        return {{"inicio": version_inicio, "fin": VERSION}}

    fin(inicio())


demo()
'''


APP_DAG = "informe_release"
APP_TASK = "informe"
MANIFEST = "release.json"

_APP_TEMPLATE = '''"""Release {version} of {dag_id}: customer report of this release (day 4)."""

from datetime import datetime

from airflow.sdk import dag, task

VERSION = "{version}"
SCHEMA = "{schema}"
FIELDS = {fields!r}


@dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
     tags=["dia4", "blue-green"], default_args={{"owner": "equipo-datos", "retries": 0}})
def informe_release():
    @task
    def {task_id}():
        # what this release writes: one empty customer record of its schema
        registro = {{name: None for name in FIELDS}}
        return {{"version": VERSION, "esquema": SCHEMA, "campos": list(registro),
                 "num_campos": len(registro)}}

    {task_id}()


informe_release()
'''


def publish_app(version: str, schema: str, fields: list[str], cfg: Settings = settings) -> str:
    """Commit release ``version`` of the application DAG and its manifest; returns the sha.

    Args:
        version: release label (``v1``, ``v2`` ...), what the DAG reports.
        schema: label of the customer schema the release writes (``v3`` ...).
        fields: the field names of that schema (the DAG's record).
        cfg: settings.
    """
    repo = repo_dir(cfg)
    if not (repo / ".git").exists():
        release("v1", cfg)
    source = _APP_TEMPLATE.format(version=version, schema=schema, fields=list(fields),
                                  dag_id=APP_DAG, task_id=APP_TASK)
    (repo / f"{APP_DAG}.py").write_text(source)
    (repo / MANIFEST).write_text(json.dumps({"version": version, "schema": schema}) + "\n")
    _git(cfg, "add", "-A")
    if _git(cfg, "status", "--porcelain"):
        _git(cfg, "commit", "-q", "-m", f"app release {version}")
    return _git(cfg, "rev-parse", "HEAD")


def deployed_app(cfg: Settings = settings) -> dict | None:
    """The manifest of the application release in the bundle (None before the first one)."""
    path = repo_dir(cfg) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def markers_dir(cfg: Settings = settings) -> Path:
    """Where each demo run's first task writes the code version it started with."""
    return cfg.var / "dag_release_markers"


def _marker(cfg: Settings, dag_id: str, run_id: str) -> Path:
    return markers_dir(cfg) / (f"{dag_id}__" + run_id.replace(":", "_"))


GO_ON = ".seguir"
"""Suffix of the file, next to a run's marker, that lets its held ``inicio`` task finish."""


def _go_on(marker: Path) -> Path:
    """The file that lets a held ``inicio`` task finish (see the DAG template)."""
    return marker.with_name(marker.name + GO_ON)


def repo_dir(cfg: Settings = settings) -> Path:
    """The local git repository of DAG releases (``var/dag_releases``)."""
    return cfg.var / "dag_releases"


def plain_dir(cfg: Settings = settings) -> Path:
    """The unversioned DAG folder of the contrast (``var/dag_plain``)."""
    return cfg.var / "dag_plain"


def _git(cfg: Settings, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo_dir(cfg)), "-c", "user.name=opsbook",
         "-c", "user.email=opsbook@localhost", *args],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} falló: {done.stderr.strip()}")
    return done.stdout.strip()


def release(version: str, cfg: Settings = settings) -> str:
    """Publish ``version`` of the demo DAG in both bundles; returns the git commit sha.

    The git bundle gets a new commit; the plain folder's file is simply overwritten.
    """
    repo = repo_dir(cfg)
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _git(cfg, "init", "-q", "-b", "main")
    source = _TEMPLATE.format(version=version, dag_id=DAG_GIT, markers=markers_dir(cfg),
                              go_on=GO_ON)
    (repo / f"{DAG_GIT}.py").write_text(source)
    _git(cfg, "add", "-A")
    if _git(cfg, "status", "--porcelain"):
        _git(cfg, "commit", "-q", "-m", f"release {version}")
    plain_dir(cfg).mkdir(parents=True, exist_ok=True)
    target = plain_dir(cfg) / f"{DAG_PLAIN}.py"
    records.write_atomic(target, _TEMPLATE.format(version=version, dag_id=DAG_PLAIN,
                                                  markers=markers_dir(cfg), go_on=GO_ON))
    return _git(cfg, "rev-parse", "HEAD")


def bundle_configs(cfg: Settings = settings) -> list[dict]:
    """The two extra bundles (git releases + plain folder); creates release v1 if missing."""
    if not (repo_dir(cfg) / ".git").exists():
        release("v1", cfg)
    return [
        {"name": GIT_BUNDLE, "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
         "kwargs": {"tracking_ref": "main", "repo_url": str(repo_dir(cfg)),
                    "refresh_interval": 3}},
        {"name": PLAIN_BUNDLE, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
         "kwargs": {"path": str(plain_dir(cfg)), "refresh_interval": 3}},
    ]


def _wait(predicate, what: str, timeout_s: float, poll_s: float = 1.0):
    """Wait for ``predicate``; a DAG not parsed yet (HTTP 404) counts as "not yet"."""
    from opsbook.airflow.client import NotFound

    return wait_until(predicate, timeout_s, poll_s, what, retry_on=(NotFound,))


def versioning_experiment(cfg: Settings = settings, wait_s: float = 20,
                          timeout_s: float = 600) -> list[dict]:
    """Edit the DAG (v1 → v2) while a run is in flight, in both bundles.

    The runs A hold their ``inicio`` task until v2 is published and parsed, then are let go
    (``wait_s`` is only the upper bound of that hold): the release happens mid-run by
    construction, not by a sleep long enough to cover it.

    Returns:
        One row per run: bundle, run (``A`` started on v1 / ``B`` after the release),
        ``bundle_version`` of the run, and the code version its ``inicio`` and ``fin`` tasks ran.
    """
    from opsbook.airflow.dagruns import DagRunClient

    sha1 = release("v1", cfg)
    client = DagRunClient(cfg=cfg)
    try:
        def dag_at(dag_id: str, sha: str | None):
            dag = client.dag(dag_id)
            return sha is None or dag.get("bundle_version") == sha

        _wait(lambda: dag_at(DAG_GIT, sha1), "el DAG versionado en v1", timeout_s)
        _wait(lambda: dag_at(DAG_PLAIN, None), "el DAG sin versionar", timeout_s)
        runs = {(b, "A"): client.trigger(d, {"wait_s": wait_s})
                for b, d in ((GIT_BUNDLE, DAG_GIT), (PLAIN_BUNDLE, DAG_PLAIN))}

        held = []
        for (bundle, _), run_id in runs.items():  # 'inicio' is executing v1 code
            dag_id = DAG_GIT if bundle == GIT_BUNDLE else DAG_PLAIN
            held.append(_marker(cfg, dag_id, run_id))
            _wait(held[-1].exists, f"{dag_id} en marcha", timeout_s, 0.3)
        sha2 = release("v2", cfg)
        _wait(lambda: dag_at(DAG_GIT, sha2), "el DAG versionado en v2", timeout_s)
        for marker in held:
            _go_on(marker).touch()
        runs[(GIT_BUNDLE, "B")] = client.trigger(DAG_GIT, {"wait_s": 0})
        runs[(PLAIN_BUNDLE, "B")] = client.trigger(DAG_PLAIN, {"wait_s": 0})
        rows = []
        for (bundle, label), run_id in runs.items():
            dag_id = DAG_GIT if bundle == GIT_BUNDLE else DAG_PLAIN
            run = client.wait(dag_id, run_id, timeout_s)
            value = {}
            if run["state"] == "success":
                value = client.xcom(dag_id, run_id, "fin", deserialize=True)
                value = json.loads(value) if isinstance(value, str) else value
            rows.append({"bundle": bundle, "run": label, "state": run["state"],
                         "bundle_version": (run.get("bundle_version") or "")[:8] or None,
                         "inicio": value.get("inicio"), "fin": value.get("fin")})
    finally:
        client.close()
    return rows
