"""What a blue-green release ships: DAG code per version and a real schema check in step 1."""

from __future__ import annotations

import ast
import dataclasses

import pytest
from opsbook.airflow import releases as dag_releases
from opsbook.deploy import shipping
from opsbook.settings import settings

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path):
    return dataclasses.replace(settings, var=tmp_path / "var")


def test_baseline_is_v1_until_a_release_is_published(cfg):
    assert dag_releases.deployed_app(cfg) is None
    assert shipping.deployed(cfg) == shipping.BASELINE == shipping.RELEASES["v1"]


def test_each_release_commits_different_dag_code_and_its_manifest(cfg):
    sha1 = shipping.install(shipping.RELEASES["v1"], cfg)
    code1 = (dag_releases.repo_dir(cfg) / f"{dag_releases.APP_DAG}.py").read_text()
    sha2 = shipping.install(shipping.RELEASES["v2"], cfg)
    code2 = (dag_releases.repo_dir(cfg) / f"{dag_releases.APP_DAG}.py").read_text()
    assert sha1 != sha2 and code1 != code2
    assert shipping.install(shipping.RELEASES["v2"], cfg) == sha2  # nothing new, no commit
    assert shipping.deployed(cfg) == shipping.RELEASES["v2"]
    ast.parse(code2)  # valid Python, and it reports v2 with schema v3's extra field
    assert 'VERSION = "v2"' in code2 and "'phone'" in code2 and "'phone'" not in code1


def test_step_one_compares_the_deployed_schema_with_the_new_one(cfg):
    assert "COMPATIBLE en modo FULL" in shipping.check_upgrade(shipping.RELEASES["v2"], cfg)
    assert "v1 (esquema v2) → v1 (esquema v2)" in shipping.check_upgrade(None, cfg)
    shipping.install(shipping.RELEASES["v2"], cfg)
    with pytest.raises(shipping.IncompatibleRelease, match="(?s)v2 → v3.*INCOMPATIBLE.*full_name"):
        shipping.check_upgrade(shipping.RELEASES["v3"], cfg)


def test_labels_without_code_ship_nothing():
    assert shipping.release_for("v2-rota") is None and shipping.release_for("v-rota") is None
    assert shipping.release_for("v2") == shipping.RELEASES["v2"]
