"""Generated configs of the non-Airflow services: Prometheus, Alertmanager, nginx, node exporter.

Why this module exists: ports and folders come from :mod:`opsbook.settings` (and shift with
``OPSBOOK_PORT_OFFSET``), so the files the services read are generated into ``var/run/``
from the committed sources under ``monitoring/`` rather than committed with fixed ports.
It also holds the two front-door helpers the blue-green deploy uses: rewrite the upstream
(:func:`front_door_upstream`) and reload nginx (:func:`reload_front_door`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from opsbook import records
from opsbook.observability.signals import BRIDGE_JOB, NODE_JOB
from opsbook.settings import HOST, Settings, ensure_secrets, settings
from opsbook.stack.supervisor_conf import socket_path
from opsbook.waiting import WaitTimeout, wait_until

COMMITTED_WEBHOOK = "http://127.0.0.1:9095"
"""Webhook base URL written in the committed ``alertmanager.yml`` (replaced by the real one)."""


def binary(name: str) -> str:
    """Absolute path of a system binary (``/usr/sbin`` included, not always on PATH).

    Raises:
        FileNotFoundError: with the Debian package to install.
    """
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        pkg = {"nginx": "nginx-light"}.get(name, name)  # the others are named as the package
        raise FileNotFoundError(
            f"no encuentro '{name}': instálalo (Debian: apt-get install --no-install-recommends "
            f"{pkg}) o ejecuta 'make setup'"
        )
    return found


# ---- Prometheus -------------------------------------------------------------------------
def prometheus_config(cfg: Settings = settings) -> dict:
    """The Prometheus configuration (scrape jobs incl. the node exporter; rules; alerting).

    Args:
        cfg: settings giving ports, the scrape interval and the rules folder.
    """
    interval = f"{cfg.scrape_interval_s:g}s"
    rules = cfg.monitoring_dir / "prometheus" / "rules" / "*.yml"

    def job(name: str, port: int) -> dict:
        return {"job_name": name, "static_configs": [{"targets": [f"{HOST}:{port}"]}]}

    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules)],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"{HOST}:{cfg.ports.alertmanager}"]}]}
            ]
        },
        "scrape_configs": [
            job(BRIDGE_JOB, cfg.ports.bridge),
            job("prometheus", cfg.ports.prometheus),
            job("alertmanager", cfg.ports.alertmanager),
            job(NODE_JOB, cfg.ports.node_exporter),
        ],
    }


def prometheus_args(cfg: Settings = settings) -> list[str]:
    """Command line of Prometheus (loopback listen, data in ``var``).

    No ``--web.enable-lifecycle``: with it any local user or web page could ``POST /-/quit``
    and stop monitoring. Rules and config are reloaded with SIGHUP (:func:`reload_prometheus`).
    """
    return [
        binary("prometheus"),
        f"--config.file={cfg.run_dir / 'prometheus.yml'}",
        f"--storage.tsdb.path={cfg.prometheus_data}",
        "--storage.tsdb.retention.time=7d",
        f"--web.listen-address={HOST}:{cfg.ports.prometheus}",
        f"--web.external-url=http://{HOST}:{cfg.ports.prometheus}/",
    ]


# ---- node exporter ----------------------------------------------------------------------
NODE_COLLECTORS = ("cpu", "meminfo", "filesystem", "loadavg", "supervisord")
"""The only collectors enabled: what the resource rules and AirflowApiDown read."""
FS_TYPES_EXCLUDE = ("^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|"
                    "hugetlbfs|iso9660|mqueue|nsfs|proc|procfs|pstore|ramfs|rpc_pipefs|"
                    "securityfs|selinuxfs|squashfs|sysfs|tmpfs|tracefs)$")
"""node exporter's default list minus ``overlay`` (``var/`` is on overlay in a container),
plus ``tmpfs``/``ramfs`` (memory, not disk)."""


def node_exporter_args(cfg: Settings = settings) -> list[str]:
    """Command line of the node exporter (loopback, few collectors, supervisord over its socket).

    The supervisord collector reads this stack's supervisord through its unix socket (state of
    every program: ``node_supervisord_state``), which is how ``AirflowApiDown`` tells a crashed
    api-server (EXITED/FATAL) from one stopped on purpose (STOPPED).
    """
    return [
        binary("prometheus-node-exporter"),
        f"--web.listen-address={HOST}:{cfg.ports.node_exporter}",
        "--web.disable-exporter-metrics",
        "--collector.disable-defaults",
        *(f"--collector.{name}" for name in NODE_COLLECTORS),
        f"--collector.supervisord.url=unix://{socket_path(cfg)}",
        f"--collector.filesystem.fs-types-exclude={FS_TYPES_EXCLUDE}",
    ]


# ---- Alertmanager -----------------------------------------------------------------------
def with_webhook_auth(doc: dict, token_file: str) -> dict:
    """Add ``http_config.authorization`` (Bearer, ``credentials_file``) to every webhook.

    Args:
        doc: a parsed Alertmanager configuration (changed in place).
        token_file: the token's path as Alertmanager sees it.

    Returns:
        ``doc``.
    """
    for receiver in doc.get("receivers") or []:
        for hook in receiver.get("webhook_configs") or []:  # a fresh dict each: no YAML anchors
            auth = {"type": "Bearer", "credentials_file": token_file}
            hook["http_config"] = {**(hook.get("http_config") or {}), "authorization": auth}
    return doc


def alertmanager_config_text(cfg: Settings = settings) -> str:
    """Alertmanager config: the committed file with the real webhook port, or a fallback.

    Every webhook receiver gets ``http_config.authorization.credentials_file`` pointing at the
    generated ``var/secrets/alert_webhook_token``: Alertmanager then sends
    ``Authorization: Bearer <token>``, which the alert receiver requires.

    Args:
        cfg: settings giving the webhook URL, the monitoring folder and the secrets.
    """
    ensure_secrets(cfg)
    committed = cfg.monitoring_dir / "alertmanager" / "alertmanager.yml"
    if committed.exists():
        doc = yaml.safe_load(committed.read_text().replace(COMMITTED_WEBHOOK, cfg.webhook_url))
        header = "# generated by opsbook from monitoring/alertmanager/alertmanager.yml\n"
    else:
        doc = {
            "route": {
                "receiver": "opsbook",
                "group_by": ["alertname"],
                "group_wait": "1s",
                "group_interval": "5s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "opsbook",
                    "webhook_configs": [{"url": f"{cfg.webhook_url}/", "send_resolved": True}],
                }
            ],
        }
        header = "# fallback generated by opsbook (monitoring/alertmanager/alertmanager.yml " \
            "missing)\n"
    with_webhook_auth(doc, str(cfg.webhook_token_file))
    return header + yaml.safe_dump(doc, sort_keys=False)


def alertmanager_args(cfg: Settings = settings) -> list[str]:
    """Command line of Alertmanager (loopback listen, no cluster gossip port)."""
    return [
        binary("prometheus-alertmanager"),
        f"--config.file={cfg.run_dir / 'alertmanager.yml'}",
        f"--storage.path={cfg.alertmanager_data}",
        f"--web.listen-address={HOST}:{cfg.ports.alertmanager}",
        f"--web.external-url=http://{HOST}:{cfg.ports.alertmanager}/",
        "--cluster.listen-address=",
    ]


# ---- nginx front door -------------------------------------------------------------------
def nginx_prefix(cfg: Settings = settings) -> Path:
    """The nginx prefix folder (temp dirs) under ``var/run``."""
    return cfg.run_dir / "nginx"


def nginx_conf_text(cfg: Settings = settings) -> str:
    """``var/run/nginx.conf``: foreground nginx proxying 127.0.0.1:<front_door> → upstream."""
    tmp = nginx_prefix(cfg)
    log = cfg.log_dir
    temps = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""# generated by opsbook.stack.service_configs: do not edit
daemon off;
worker_processes 1;
pid {cfg.run_dir / "nginx.pid"};
error_log {log / "front-door.error.log"} warn;
events {{ worker_connections 256; }}
http {{
    access_log {log / "front-door.access.log"};
{temps}
    include {cfg.run_dir / "nginx-upstream.conf"};
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen {HOST}:{cfg.ports.front_door};
        location / {{
            proxy_pass http://airflow;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


def nginx_args(cfg: Settings = settings) -> list[str]:
    """Command line of the front door (nginx in the foreground with our config and error log)."""
    return [
        binary("nginx"),
        "-p", str(nginx_prefix(cfg)),
        "-e", str(cfg.log_dir / "front-door.error.log"),
        "-c", str(cfg.run_dir / "nginx.conf"),
    ]  # fmt: skip


def front_door_upstream(port: int, cfg: Settings = settings) -> Path:
    """Point the front door at the api-server on ``port`` (rewrite the upstream file).

    Call :func:`reload_front_door` afterwards for a running nginx to switch.

    Args:
        port: TCP port of the api-server that must receive the traffic.
        cfg: settings locating ``var/run``.

    Returns:
        Path of ``var/run/nginx-upstream.conf``.
    """
    path = cfg.run_dir / "nginx-upstream.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    return records.write_atomic(path, f"upstream airflow {{ server {HOST}:{int(port)}; }}\n")


def front_door_port(cfg: Settings = settings) -> int | None:
    """Port of the api-server the front door currently points at (from the upstream file)."""
    path = cfg.run_dir / "nginx-upstream.conf"
    if not path.exists():
        return None
    text = path.read_text()
    try:
        return int(text.split(f"{HOST}:", 1)[1].split(";", 1)[0])
    except (IndexError, ValueError):
        return None


def front_door_workers(cfg: Settings = settings) -> set[int]:
    """Pids of the running front door's nginx worker processes (children of its master)."""
    import psutil

    master = psutil.Process(int((cfg.run_dir / "nginx.pid").read_text().strip()))
    return {child.pid for child in master.children()}


def reload_front_door(cfg: Settings = settings, timeout_s: float = 10.0) -> set[int]:
    """Validate the nginx config and reload the running front door, synchronously.

    ``nginx -s reload`` only signals the master and returns; the master then starts new
    workers with the new config and asks the old ones to finish their requests and exit.
    Until it has done so the old workers still accept connections with the **old**
    upstream. This returns once a new worker runs, with the pids of the old workers, so a
    caller can wait for them (:func:`front_door_drained`) before stopping the old upstream.

    Args:
        cfg: settings.
        timeout_s: bound for the master to start its new workers.

    Returns:
        Pids of the workers that served before the reload (now draining).

    Raises:
        RuntimeError: when the config is invalid, nginx refuses the reload (the running
            nginx keeps serving its previous config) or no new worker starts in time.
    """
    old = front_door_workers(cfg)
    for extra in (["-t", "-q"], ["-s", "reload"]):
        done = subprocess.run(nginx_args(cfg) + extra, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"nginx {' '.join(extra)} falló ({done.returncode}): {done.stderr.strip()}"
            )
    try:
        wait_until(lambda: front_door_workers(cfg) - old, timeout_s, 0.05,
                   "nginx arranque workers nuevos tras el reload")
    except WaitTimeout as exc:
        raise RuntimeError(f"{exc}: mira {cfg.log_dir / 'front-door.error.log'}") from None
    return old


def front_door_drained(old_workers: set[int], timeout_s: float) -> list[int]:
    """Wait until the given (pre-reload) nginx workers have exited; returns those still alive.

    Args:
        old_workers: what :func:`reload_front_door` returned.
        timeout_s: bound of the wait (an old worker finishes its in-flight requests first).
    """
    import psutil

    from opsbook.stack.reaper import alive

    procs = []
    for pid in sorted(old_workers):
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue
    try:
        wait_until(lambda: [p.pid for p in procs if alive(p)], timeout_s, 0.1,
                   "terminen los workers antiguos de nginx", until=lambda left: not left)
    except WaitTimeout as exc:
        return exc.last
    return []


def write_all(cfg: Settings = settings) -> None:
    """Write every generated service config into ``var/run`` (upstream only when missing)."""
    for folder in (cfg.run_dir, cfg.log_dir, cfg.prometheus_data, cfg.alertmanager_data):
        folder.mkdir(parents=True, exist_ok=True)
    (cfg.run_dir / "prometheus.yml").write_text(
        yaml.safe_dump(prometheus_config(cfg), sort_keys=False)
    )
    (cfg.run_dir / "alertmanager.yml").write_text(alertmanager_config_text(cfg))
    prefix = nginx_prefix(cfg)
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / kind).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # nginx workers drop to 'nobody' when started as root
            shutil.chown(prefix / kind, user="nobody")
    (cfg.run_dir / "nginx.conf").write_text(nginx_conf_text(cfg))
    if front_door_port(cfg) is None:
        front_door_upstream(cfg.ports.airflow, cfg)
