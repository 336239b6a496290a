"""opsbook.settings: port overrides and offset, bad input, generated secrets."""

from __future__ import annotations

import dataclasses
import json

import pytest

pytestmark = pytest.mark.unit


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("OPSBOOK_") and key.endswith(("_PORT", "_OFFSET")):
            monkeypatch.delenv(key)
    return monkeypatch


def test_default_ports_follow_conventions(clean_env):
    from opsbook.settings import Ports

    ports = Ports.from_env()
    assert (ports.airflow, ports.statsd, ports.bridge, ports.prometheus) == (8080, 9125, 9102, 9090)
    assert (ports.alertmanager, ports.webhook, ports.front_door) == (9093, 9095, 8088)


def test_offset_shifts_our_services_not_postgres(clean_env):
    from opsbook.settings import Ports

    clean_env.setenv("OPSBOOK_PORT_OFFSET", "100")
    clean_env.setenv("OPSBOOK_PROMETHEUS_PORT", "19090")
    ports = Ports.from_env()
    assert ports.airflow == 8180 and ports.statsd == 9225
    assert ports.prometheus == 19090  # an explicit port wins over the offset
    assert ports.postgres == 5432 and ports.redis == 6379


def test_bad_port_says_what_to_fix(clean_env):
    from opsbook.settings import Ports

    clean_env.setenv("OPSBOOK_AIRFLOW_PORT", "ochenta")
    with pytest.raises(ValueError, match="OPSBOOK_AIRFLOW_PORT"):
        Ports.from_env()


def test_secrets_are_generated_once_and_private(tmp_path):
    from opsbook.settings import COURSE_USERS, ensure_secrets, settings

    cfg = dataclasses.replace(settings, var=tmp_path / "var")
    first = ensure_secrets(cfg)
    again = ensure_secrets(cfg)
    assert first == again
    assert len(first["jwt_secret"].encode()) >= 64
    assert set(json.loads(cfg.passwords_file.read_text())) == set(COURSE_USERS)
    assert cfg.passwords_file.stat().st_mode & 0o077 == 0
    assert cfg.secrets_dir.stat().st_mode & 0o077 == 0


def test_urls_use_loopback():
    from opsbook.settings import settings

    for url in (settings.airflow_url, settings.prometheus_url, settings.front_door_url):
        assert url.startswith("http://127.0.0.1:")
