"""The programs of the native stack (what supervisord runs), built from the settings.

Why this module exists: one place lists the stack's processes with their exact argv, restart
policy and health probe, so :mod:`opsbook.stack.lifecycle` only orchestrates. Airflow components
never auto-restart (day 3 drills a real outage) and run with ``--skip-serve-logs`` where offered so
every listening port stays on 127.0.0.1; the monitoring services may auto-restart.
"""

from __future__ import annotations

import importlib.util
import sys

from opsbook.airflow.paths import health_url as airflow_health_url
from opsbook.settings import Settings, settings
from opsbook.stack import service_configs as sc
from opsbook.stack.programs import Program, airflow_argv

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
SERVICE_COMPONENTS = (
    "statsd-bridge",
    "prometheus",
    "alertmanager",
    "alert-receiver",
    "front-door",
    "node-exporter",
)


def module_available(module: str) -> bool:
    """Whether ``module`` can be imported (teammates' services may not exist yet)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def airflow_programs(cfg: Settings = settings) -> list[Program]:
    """api-server, scheduler, dag-processor and triggerer (no auto-restart)."""
    api = airflow_argv("api-server", "--host", "127.0.0.1", "--port", str(cfg.ports.airflow))
    return [
        Program(
            "api-server",
            api,
            port=cfg.ports.airflow,
            health_url=airflow_health_url(cfg.airflow_url),
            stopwaitsecs=15,
        ),
        Program("scheduler", airflow_argv("scheduler", "--skip-serve-logs"), stopwaitsecs=20),
        Program("dag-processor", airflow_argv("dag-processor"), stopwaitsecs=15),
        # On SIGTERM the triggerer signals its trigger runner child and waits for it in a
        # select() on the child's sockets; when the child closes them before it exits, nothing
        # wakes the parent until Airflow's 10 s escalation delay ends (the same race as the task
        # supervisor's, see opsbook.airflow.env.HEARTBEAT_INTERVAL_S). Measured: 1.1 / 11.4 /
        # 1.8 s per stop, and on 3 of 4 day-4 mode switches the 5 s SIGKILL. A killed
        # triggerer's triggers are picked up by the next one, so 2 s is enough.
        Program("triggerer", airflow_argv("triggerer", "--skip-serve-logs"), stopwaitsecs=2),
    ]


def service_programs(cfg: Settings = settings) -> list[Program]:
    """Bridge, Prometheus, Alertmanager, alert receiver, front door, node exporter (auto-restart).

    A Python service whose module is not importable yet is skipped with a warning.
    """
    py = sys.executable
    progs = [
        Program(
            "statsd-bridge",
            [py, "-m", "opsbook.observability.statsd_bridge"],
            autorestart=True,
            port=cfg.ports.bridge,
            health_url=cfg.bridge_url,
            stopwaitsecs=5,
        ),
        Program(
            "prometheus",
            sc.prometheus_args(cfg),
            autorestart=True,
            port=cfg.ports.prometheus,
            health_url=f"{cfg.prometheus_url}/-/ready",
            stopwaitsecs=10,
        ),
        Program(
            "alertmanager",
            sc.alertmanager_args(cfg),
            autorestart=True,
            port=cfg.ports.alertmanager,
            health_url=f"{cfg.alertmanager_url}/-/ready",
            stopwaitsecs=5,
        ),
        Program(
            "alert-receiver",
            [py, "-m", "opsbook.incidents.responder"],
            autorestart=True,
            port=cfg.ports.webhook,
            health_url=f"{cfg.webhook_url}/-/ready",
            stopwaitsecs=5,
        ),
        Program(
            "front-door",
            sc.nginx_args(cfg),
            autorestart=True,
            port=cfg.ports.front_door,
            health_url=airflow_health_url(cfg.front_door_url),
            stopwaitsecs=5,
        ),
        Program(
            "node-exporter",
            sc.node_exporter_args(cfg),
            autorestart=True,
            port=cfg.ports.node_exporter,
            health_url=f"http://127.0.0.1:{cfg.ports.node_exporter}/metrics",
            stopwaitsecs=5,
        ),
    ]
    modules = {"statsd-bridge": "opsbook.observability.statsd_bridge",
               "alert-receiver": "opsbook.incidents.responder"}
    kept = []
    for prog in progs:
        module = modules.get(prog.name)
        if module and not module_available(module):
            print(
                f"AVISO: '{prog.name}' omitido: el módulo {module} todavía no existe",
                file=sys.stderr,
            )
            continue
        kept.append(prog)
    return kept


def base_programs(cfg: Settings = settings) -> list[Program]:
    """Every program of the stack in local mode (services first, then Airflow)."""
    return service_programs(cfg) + airflow_programs(cfg)
