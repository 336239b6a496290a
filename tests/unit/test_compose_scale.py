"""docker-compose.scale.yml cannot run here (no Docker engine): check it statically."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from opsbook.stack import celery_mode

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SCALE = yaml.safe_load((ROOT / "docker-compose.scale.yml").read_text())
AIRFLOW = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
           "airflow-triggerer", "airflow-init")


def test_adds_postgres_redis_and_workers():
    assert {"postgres", "redis", "airflow-worker"} <= set(SCALE["services"])
    worker = SCALE["services"]["airflow-worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert "--skip-serve-logs" in worker["command"]
    assert worker["stop_signal"] == "SIGTERM"  # warm shutdown


def test_overridden_services_exist_in_the_base_file():
    for name, svc in SCALE["services"].items():
        if "image" not in svc and "extends" not in svc:
            assert name in BASE["services"], f"{name} overrides nothing"
    ext = SCALE["services"]["airflow-worker"]["extends"]
    assert (ROOT / ext["file"]).exists() and ext["service"] in BASE["services"]


def test_every_airflow_component_switches_to_celery_on_postgres():
    for name in (*AIRFLOW, "airflow-worker"):
        env = SCALE["services"][name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:"), name


def test_same_classroom_settings_as_the_native_celery_mode():
    env = SCALE["services"]["airflow-worker"]["environment"]
    key = "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"
    assert env[key] == str(celery_mode.HEARTBEAT_TIMEOUT_S)
    assert env[key + "_DETECTION_INTERVAL"] == str(celery_mode.HEARTBEAT_DETECTION_S)
    assert env["AIRFLOW__CORE__PARALLELISM"] == str(celery_mode.CELERY_PARALLELISM)


def test_images_pinned_and_nothing_published_off_loopback():
    for name, svc in SCALE["services"].items():
        if "image" in svc:
            tag = svc["image"].partition(":")[2]
            assert tag and tag != "latest" and re.search(r"\d", tag), name
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
    assert "ports" not in SCALE["services"]["postgres"]
    assert "ports" not in SCALE["services"]["redis"]


def test_no_inline_passwords():
    text = (ROOT / "docker-compose.scale.yml").read_text()
    assert not re.search(r"PASSWORD\s*:", text), "no passwords inline"
    assert not re.search(r"://[^/@\s]+:[^/@\s]+@", text), "no credentials in URLs"
