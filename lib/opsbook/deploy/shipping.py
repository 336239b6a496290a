"""What a blue-green release ships, and the checks that let it through (deploy steps 1 and 4).

Why this module exists: a deploy used to start the same code twice under another label, and its
step 1 compared the customer schema's versions among themselves whatever was deployed. Here a
release is real: it ships different DAG code (the ``informe_release`` DAG, committed to the
versioned git bundle by :func:`opsbook.airflow.releases.publish_app`) and writes a given version
of the customer schema. Step 1 checks, with the schema checker of day 4 (a), that the new
release's schema and the deployed release's schema can read each other's data (mode ``FULL``:
during the switch both versions run side by side); a breaking change stops the deploy before
anything starts. Step 4 runs the new release's DAG on the new slot and checks that it is the new
code that answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from opsbook.airflow import releases
from opsbook.pipeline.avro_compat import Schema, check
from opsbook.pipeline.schema_registry import registry
from opsbook.settings import Settings, settings
from opsbook.waiting import wait_until

COMPAT_MODE = "FULL"
"""Both directions: the old slot may read the new data and the new slot the old data."""
PROPOSAL = "v4-propuesta"
"""Schema label of the registry's proposal (renames fields: breaks compatibility)."""


class IncompatibleRelease(ValueError):
    """The new release's schema cannot exchange data with the deployed one (deploy step 1)."""


@dataclass(frozen=True)
class AppRelease:
    """One application release.

    Attributes:
        version: label (what its DAG reports).
        schema: label of the customer schema it writes (``v2``, ``v3`` or ``v4-propuesta``).
    """

    version: str
    schema: str


RELEASES = {r.version: r for r in (AppRelease("v1", "v2"), AppRelease("v2", "v3"),
                                   AppRelease("v3", PROPOSAL))}
"""Known releases: v1 → v2 adds a field (compatible); v3 renames fields (breaking)."""
BASELINE = RELEASES["v1"]


def release_for(label: str) -> AppRelease | None:
    """The application release a deploy label ships (None: a label without code, e.g. tests)."""
    return RELEASES.get(label)


def register(release: AppRelease) -> AppRelease:
    """Make ``release`` a release with code for deploys in this process (a student's own).

    A deploy ships code only for a label it knows (:func:`release_for`); day 4's students
    register their ``v2-<alumno>`` this way before deploying it.

    Args:
        release: the new release; its schema must be a registered one (``v1``…) or the proposal.

    Returns:
        ``release``.

    Raises:
        ValueError: an unknown schema label, or a label already taken by another release.
    """
    try:
        schema_of(release)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"esquema {release.schema!r} desconocido: usa uno del registro "
                         f"(v1, v2, v3) o {PROPOSAL!r}") from exc
    known = RELEASES.get(release.version)
    if known is not None and known != release:
        raise ValueError(f"la release {release.version!r} ya existe con el esquema {known.schema}")
    RELEASES[release.version] = release
    return release


def schema_of(release: AppRelease) -> Schema:
    """The Avro schema a release writes."""
    reg = registry()
    if release.schema == PROPOSAL:
        return reg.proposal()
    return reg.get(int(release.schema.removeprefix("v"))).schema


def _fields(release: AppRelease) -> list[str]:
    return [f["name"] for f in schema_of(release).raw["fields"]]


def deployed(cfg: Settings = settings) -> AppRelease:
    """The release in production (the bundle's manifest; the baseline before the first one)."""
    manifest = releases.deployed_app(cfg)
    if not manifest:
        return BASELINE
    return RELEASES.get(manifest["version"], AppRelease(manifest["version"], manifest["schema"]))


def install(release: AppRelease, cfg: Settings = settings) -> str:
    """Publish ``release``'s DAG code in the versioned bundle; returns the commit sha."""
    return releases.publish_app(release.version, release.schema, _fields(release), cfg)


def check_upgrade(new: AppRelease | None, cfg: Settings = settings) -> str:
    """Deploy step 1: the deployed and the new release's schemas must be ``FULL`` compatible.

    Args:
        new: the release being deployed (None: same code, e.g. a restart of the slot).
        cfg: settings.

    Returns:
        One Spanish line with both versions and the verdict.

    Raises:
        IncompatibleRelease: with every reason of the checker.
    """
    current = deployed(cfg)
    new = new or current
    report = check(COMPAT_MODE, schema_of(new), [schema_of(current)])
    if not report.compatible:
        raise IncompatibleRelease(
            f"{current.version} → {new.version}: {report.describe()}")
    return (f"{current.version} (esquema {current.schema}) → {new.version} (esquema "
            f"{new.schema}): {report.describe().splitlines()[0]}")


def run_report(base_url: str | None = None, cfg: Settings = settings, sha: str | None = None,
               timeout_s: float = 180.0) -> dict[str, Any]:
    """Run the release's DAG through ``base_url`` and return what its task reported.

    Args:
        base_url: api-server or front door (default: the front door).
        cfg: settings.
        sha: wait until the API serves the DAG parsed from this bundle commit first.
        timeout_s: deadline of the wait and of the run.

    Returns:
        The task's result (``version``, ``esquema``, ``campos``, ``num_campos``) plus ``run_id``
        and ``bundle_version`` (the commit the run was pinned to).

    Raises:
        RuntimeError: the run did not succeed.
    """
    from opsbook.airflow import client as api
    from opsbook.airflow.dagruns import DagRunClient

    client = DagRunClient(base_url, cfg=cfg, timeout_s=min(60.0, timeout_s))
    try:
        if sha:
            wait_until(lambda: client.dag(releases.APP_DAG).get("bundle_version") == sha,
                       timeout_s, 1.0,
                       f"que la API sirva {releases.APP_DAG} del commit {sha[:8]}",
                       retry_on=(api.ApiError,))
        run_id = client.trigger(releases.APP_DAG)
        run = client.wait(releases.APP_DAG, run_id, timeout_s)
        if run["state"] != "success":
            raise RuntimeError(f"{releases.APP_DAG}/{run_id} terminó en '{run['state']}'")
        value = client.xcom(releases.APP_DAG, run_id, releases.APP_TASK, deserialize=True)
    finally:
        client.close()
    value = json.loads(value) if isinstance(value, str) else value
    return {**value, "run_id": run_id, "bundle_version": run.get("bundle_version")}


def smoke(base_url: str, release: AppRelease, sha: str, cfg: Settings = settings,
          timeout_s: float = 180.0) -> str:
    """Deploy step 4 for a release with code: its DAG runs on the new slot and reports it.

    Raises:
        RuntimeError: the DAG did not run, or an older code version answered.
    """
    out = run_report(base_url, cfg, sha, timeout_s)
    if out.get("version") != release.version or out.get("bundle_version") != sha:
        raise RuntimeError(f"{releases.APP_DAG} respondió {out.get('version')} "
                           f"(commit {str(out.get('bundle_version'))[:8]}), no {release.version}")
    return (f"{releases.APP_DAG} {release.version} success en el commit {sha[:8]} "
            f"({out['num_campos']} campos)")
