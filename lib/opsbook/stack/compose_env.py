"""The secrets file of the docker-compose stack (``var/compose.env``), never committed.

Why this module exists: ``docker-compose.yml`` must hold no password. The compose stack reads
the same generated secrets as the native one (JWT secret, Fernet key, API secret key, course
passwords) from an env file and a passwords file under ``var/``, written here from
:mod:`opsbook.settings`; Grafana's admin password is generated once beside them.
"""

from __future__ import annotations

import os
import secrets as _secrets
import shutil
from pathlib import Path

from opsbook.settings import Settings, settings


def write_compose_env(cfg: Settings = settings) -> Path:
    """Write ``var/compose.env`` and ``var/compose/passwords.json`` (both 0640).

    The passwords file is group-readable because the official Airflow image runs as uid
    50000 with gid 0.

    Args:
        cfg: the settings whose secrets are exported.

    Returns:
        Path of ``var/compose.env``.
    """
    sec = cfg.secrets
    grafana = cfg.secrets_dir / "grafana_admin_password"
    if not grafana.exists():
        grafana.write_text(_secrets.token_urlsafe(16))
        grafana.chmod(0o600)
    lines = {
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__API__SECRET_KEY": sec["api_secret_key"],
        "GF_SECURITY_ADMIN_PASSWORD": grafana.read_text().strip(),
    }
    env_path = cfg.var / "compose.env"
    env_path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    env_path.chmod(0o640)
    folder = cfg.var / "compose"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "passwords.json"
    shutil.copyfile(cfg.passwords_file, target)
    target.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(target, -1, 0)
    return env_path
