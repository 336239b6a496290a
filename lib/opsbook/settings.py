"""Every port, path and secret of opsbook, defined once.

Why this module exists: the notebooks, the DAG, the stack supervisor, the tests and the
benchmarks all need the same ports and folders. Each value has a course default (see
docs/convenciones.md → Valores de la pila) and can be overridden by an ``OPSBOOK_*`` environment
variable. ``OPSBOOK_PORT_OFFSET`` shifts every port of the services the project itself
starts (not PostgreSQL/Redis, which the machine provides) so that two stacks can run side
by side during development.

Secrets (course passwords, JWT secret, Fernet key, API secret key, the alert webhook's bearer
token, the Celery-mode Postgres password) are generated once under
``var/secrets/`` by :func:`ensure_secrets` and never committed.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ROOT = Path(os.environ.get("OPSBOOK_ROOT", Path(__file__).resolve().parents[2]))

_DEFAULT_PORTS = {
    "airflow": 8080,
    "airflow_green": 8081,
    "statsd": 9125,
    "bridge": 9102,
    "prometheus": 9090,
    "alertmanager": 9093,
    "webhook": 9095,
    "front_door": 8088,
    "node_exporter": 9100,
}

HOST = "127.0.0.1"
"""Every service the project starts binds to this address only."""

COURSE_USERS = {"admin": "admin", "student": "viewer"}
"""Course users (name → Simple Auth Manager role); passwords live in the generated file."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} no es un entero: corrige la variable de entorno") from exc


@dataclass(frozen=True)
class Ports:
    """TCP/UDP ports of the stack (all on :data:`HOST`)."""

    airflow: int
    airflow_green: int
    statsd: int
    bridge: int
    prometheus: int
    alertmanager: int
    webhook: int
    front_door: int
    node_exporter: int
    postgres: int
    redis: int

    @classmethod
    def from_env(cls) -> Ports:
        """Read the ports from ``OPSBOOK_<NAME>_PORT`` and ``OPSBOOK_PORT_OFFSET``."""
        offset = _env_int("OPSBOOK_PORT_OFFSET", 0)
        values = {
            name: _env_int(f"OPSBOOK_{name.upper()}_PORT", default + offset)
            for name, default in _DEFAULT_PORTS.items()
        }
        values["postgres"] = _env_int("OPSBOOK_POSTGRES_PORT", 5432)
        values["redis"] = _env_int("OPSBOOK_REDIS_PORT", 6379)
        return cls(**values)


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one opsbook checkout."""

    root: Path
    var: Path
    ports: Ports
    scrape_interval_s: float
    parallelism: int
    warehouse_url: str | None
    pg_dsn: str
    redis_url: str

    @classmethod
    def from_env(cls) -> Settings:
        """Build the settings from the environment (see the module docstring)."""
        root = ROOT
        var = Path(os.environ.get("OPSBOOK_VAR_DIR", root / "var")).resolve()
        ports = Ports.from_env()
        pg_db = os.environ.get("OPSBOOK_PG_DB", "opsbook")
        return cls(
            root=root,
            var=var,
            ports=ports,
            scrape_interval_s=float(os.environ.get("OPSBOOK_SCRAPE_INTERVAL_S", "1")),
            parallelism=_env_int("OPSBOOK_PARALLELISM", 4),
            warehouse_url=os.environ.get("OPSBOOK_WAREHOUSE_URL") or None,
            pg_dsn=os.environ.get(
                "OPSBOOK_PG_DSN", f"postgresql://postgres@{HOST}:{ports.postgres}/{pg_db}"
            ),
            redis_url=os.environ.get("OPSBOOK_REDIS_URL", f"redis://{HOST}:{ports.redis}/0"),
        )

    # ---- folders -------------------------------------------------------------------
    @property
    def airflow_home(self) -> Path:
        """``AIRFLOW_HOME`` of the native stack."""
        return self.var / "airflow"

    @property
    def log_dir(self) -> Path:
        """Every process log of the stack."""
        return self.var / "log"

    @property
    def run_dir(self) -> Path:
        """Pid files, sockets and generated configs."""
        return self.var / "run"

    @property
    def secrets_dir(self) -> Path:
        """Generated secrets (never committed)."""
        return self.var / "secrets"

    @property
    def landing_dir(self) -> Path:
        """Landing files of the sales pipeline, one per logical date."""
        return self.var / "landing"

    @property
    def warehouse_path(self) -> Path:
        """SQLite warehouse used when ``OPSBOOK_WAREHOUSE_URL`` is not set."""
        return self.var / "warehouse" / "ventas.sqlite"

    @property
    def retry_delay_s(self) -> float:
        """Retry delay of the pipeline tasks (``OPSBOOK_RETRY_DELAY_S``, short for class)."""
        return float(os.environ.get("OPSBOOK_RETRY_DELAY_S", "2"))

    @property
    def statsd_max_series(self) -> int:
        """Cap on the StatsD bridge's live series (``OPSBOOK_STATSD_MAX_SERIES``, 0: none)."""
        return _env_int("OPSBOOK_STATSD_MAX_SERIES", 10_000)

    @property
    def statsd_unmapped_ttl_s(self) -> float:
        """Idle seconds after which an unmapped bridge series expires (0: never)."""
        return float(os.environ.get("OPSBOOK_STATSD_UNMAPPED_TTL_S", "600"))

    @property
    def sla_seconds(self) -> float:
        """Deadline of a ``pipeline_ventas`` run after it is queued (``OPSBOOK_SLA_SECONDS``)."""
        return float(os.environ.get("OPSBOOK_SLA_SECONDS", "30"))

    @property
    def prometheus_data(self) -> Path:
        """Prometheus TSDB folder."""
        return self.var / "prometheus"

    @property
    def alertmanager_data(self) -> Path:
        """Alertmanager state folder."""
        return self.var / "alertmanager"

    @property
    def dags_dir(self) -> Path:
        """The project's DAG folder."""
        return self.root / "dags"

    @property
    def monitoring_dir(self) -> Path:
        """Prometheus, Alertmanager, StatsD mapping and Grafana files."""
        return self.root / "monitoring"

    @property
    def evidence_dir(self) -> Path:
        """Generated evidence (``evidencia/``)."""
        return Path(os.environ.get("OPSBOOK_EVIDENCE_DIR", self.root / "evidencia")).resolve()

    @property
    def notebooks_dir(self) -> Path:
        """The day notebooks."""
        return self.root / "notebooks"

    # ---- URLs ----------------------------------------------------------------------
    @property
    def airflow_url(self) -> str:
        """Base URL of the (blue) Airflow api-server."""
        return f"http://{HOST}:{self.ports.airflow}"

    @property
    def front_door_url(self) -> str:
        """Base URL of the nginx front door (blue-green switches behind it)."""
        return f"http://{HOST}:{self.ports.front_door}"

    @property
    def prometheus_url(self) -> str:
        """Base URL of Prometheus."""
        return f"http://{HOST}:{self.ports.prometheus}"

    @property
    def alertmanager_url(self) -> str:
        """Base URL of Alertmanager."""
        return f"http://{HOST}:{self.ports.alertmanager}"

    @property
    def bridge_url(self) -> str:
        """``/metrics`` of the StatsD bridge."""
        return f"http://{HOST}:{self.ports.bridge}/metrics"

    @property
    def webhook_url(self) -> str:
        """Alert webhook / runbook receiver."""
        return f"http://{HOST}:{self.ports.webhook}"

    # ---- secrets -------------------------------------------------------------------
    @cached_property
    def secrets(self) -> dict[str, str]:
        """Generated secrets; created on first use (see :func:`ensure_secrets`)."""
        return ensure_secrets(self)

    @property
    def webhook_token_file(self) -> Path:
        """Bearer token Alertmanager sends to the alert receiver (``credentials_file``).

        ``OPSBOOK_ALERT_TOKEN_FILE`` points elsewhere (docker compose mounts a copy).
        """
        override = os.environ.get("OPSBOOK_ALERT_TOKEN_FILE")
        return Path(override) if override else self.secrets_dir / "alert_webhook_token"

    @property
    def passwords_file(self) -> Path:
        """JSON file name → password read by Airflow's Simple Auth Manager."""
        return self.secrets_dir / "passwords.json"


def _write_secret(path: Path, value: str) -> None:
    """Create ``path`` with mode 0600 from the start (never readable by others, even briefly).

    A second process racing to create the same secret loses quietly and keeps the winner's.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    try:
        os.link(tmp, path)  # atomic and never overwrites an existing secret
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def ensure_secrets(cfg: Settings) -> dict[str, str]:
    """Create the course secrets once and return them.

    Idempotent: existing files are kept so every component keeps sharing the same keys.

    Args:
        cfg: the settings whose ``var/secrets`` folder holds the files.

    Returns:
        A mapping with ``jwt_secret``, ``fernet_key``, ``api_secret_key``,
        ``alert_webhook_token`` (Alertmanager → alert receiver), ``postgres_password`` (the
        Celery mode's Postgres role) and one ``password_<user>`` entry per course user.
    """
    from cryptography.fernet import Fernet  # Airflow's own dependency

    cfg.secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(cfg.secrets_dir, 0o700)
    generators = {
        "jwt_secret": lambda: _secrets.token_urlsafe(96),
        "fernet_key": lambda: Fernet.generate_key().decode(),
        "api_secret_key": lambda: _secrets.token_urlsafe(48),
        "alert_webhook_token": lambda: _secrets.token_urlsafe(32),
        "postgres_password": lambda: _secrets.token_urlsafe(24),
    }
    values: dict[str, str] = {}
    for name, make in generators.items():
        path = cfg.secrets_dir / name
        if not path.exists():
            _write_secret(path, make())
        values[name] = path.read_text().strip()
    if not cfg.passwords_file.exists():
        cfg.passwords_file.write_text(
            json.dumps({user: _secrets.token_urlsafe(12) for user in COURSE_USERS}, indent=2)
        )
        cfg.passwords_file.chmod(0o600)
    for user, password in json.loads(cfg.passwords_file.read_text()).items():
        values[f"password_{user}"] = password
    return values


settings = Settings.from_env()
"""The settings of this process (environment read once at import)."""
