"""The stack's generated configs (supervisord, Prometheus, Alertmanager, nginx, Airflow env)."""

from __future__ import annotations

import configparser
import dataclasses
import json

import pytest
import yaml

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path):
    from opsbook.settings import settings

    return dataclasses.replace(settings, var=tmp_path / "var")


@pytest.fixture
def conf(cfg):
    from opsbook.stack import lifecycle as stack
    from opsbook.stack import supervisor_conf

    progs = stack.with_env(
        stack.components.airflow_programs(cfg) + stack.components.service_programs(cfg),
        cfg,
        "local",
    )
    path = supervisor_conf.write(progs, {}, cfg)
    parser = configparser.RawConfigParser()
    parser.read(path)
    return parser, progs


def test_supervisord_uses_unix_socket_only(conf, cfg):
    parser, _ = conf
    assert "inet_http_server" not in parser.sections()
    sock = parser["unix_http_server"]["file"]
    assert sock.startswith(str(cfg.run_dir)) and sock.endswith(".sock")
    assert parser["supervisord"]["logfile"].startswith(str(cfg.log_dir))


def test_every_program_stops_as_a_group_and_logs_in_var(conf, cfg):
    parser, progs = conf
    assert {p.name for p in progs} >= {"api-server", "scheduler", "dag-processor", "triggerer"}
    for prog in progs:
        sec = parser[f"program:{prog.name}"]
        assert sec["stopasgroup"] == "true" and sec["killasgroup"] == "true"
        assert sec["stdout_logfile"] == str(cfg.log_dir / f"{prog.name}.log")


def test_airflow_components_never_autorestart(conf):
    parser, _ = conf
    for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert parser[f"program:{name}"]["autorestart"] == "false"
    assert parser["program:prometheus"]["autorestart"] == "true"


def test_specs_carry_skip_serve_logs_and_private_env(conf, cfg):
    from opsbook.stack import supervisor_conf

    _, progs = conf
    spec_dir = supervisor_conf.spec_dir(cfg)
    for name in ("scheduler", "triggerer"):
        spec = json.loads((spec_dir / f"{name}.json").read_text())
        assert "--skip-serve-logs" in spec["argv"]
        assert spec["env"]["AIRFLOW_HOME"] == str(cfg.airflow_home)
        assert (spec_dir / f"{name}.json").stat().st_mode & 0o077 == 0
    prom = json.loads((spec_dir / "prometheus.json").read_text())
    assert "AIRFLOW__API_AUTH__JWT_SECRET" not in prom["env"]


def test_supervisord_accepts_the_generated_config(conf, cfg):
    from opsbook.stack import supervisor_conf
    from supervisor.options import ServerOptions

    opts = ServerOptions()
    opts.realize(args=["-c", str(supervisor_conf.conf_path(cfg))])
    names = {g.name for g in opts.process_group_configs}
    assert "scheduler" in names and "api-server" in names


def test_prometheus_config(cfg):
    from opsbook.stack import service_configs

    doc = yaml.safe_load(yaml.safe_dump(service_configs.prometheus_config(cfg)))
    interval = f"{cfg.scrape_interval_s:g}s"
    assert doc["global"] == {"scrape_interval": interval, "evaluation_interval": interval}
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0] for job in doc["scrape_configs"]
    }
    assert targets["statsd-bridge"] == f"127.0.0.1:{cfg.ports.bridge}"
    assert set(targets) == {"statsd-bridge", "prometheus", "alertmanager", "node"}
    assert targets["node"] == f"127.0.0.1:{cfg.ports.node_exporter}"
    assert doc["rule_files"][0].startswith("/") and doc["rule_files"][0].endswith("rules/*.yml")
    am = doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am == [f"127.0.0.1:{cfg.ports.alertmanager}"]
    args = service_configs.prometheus_args(cfg)
    assert not any("lifecycle" in a for a in args)  # no POST /-/quit or /-/reload
    assert f"--web.listen-address=127.0.0.1:{cfg.ports.prometheus}" in args


def test_alertmanager_webhook_port_follows_settings(cfg, tmp_path):
    from opsbook.stack import service_configs

    mon = tmp_path / "monitoring"
    (mon / "alertmanager").mkdir(parents=True)
    (mon / "alertmanager" / "alertmanager.yml").write_text(
        "receivers:\n- name: x\n  webhook_configs:\n  - url: http://127.0.0.1:9095/alert\n"
    )
    fake = dataclasses.replace(cfg, root=tmp_path)
    text = service_configs.alertmanager_config_text(fake)
    assert f"{cfg.webhook_url}/alert" in text
    if cfg.ports.webhook != 9095:
        assert ":9095" not in text
    assert "--cluster.listen-address=" in service_configs.alertmanager_args(cfg)
    hook = yaml.safe_load(text)["receivers"][0]["webhook_configs"][0]
    auth = hook["http_config"]["authorization"]
    assert auth == {"type": "Bearer", "credentials_file": str(fake.webhook_token_file)}
    assert fake.webhook_token_file.stat().st_mode & 0o777 == 0o600
    assert len(fake.webhook_token_file.read_text().strip()) >= 32


def test_alertmanager_fallback_when_file_missing(cfg, tmp_path):
    from opsbook.stack import service_configs

    fake = dataclasses.replace(cfg, root=tmp_path)
    doc = yaml.safe_load(service_configs.alertmanager_config_text(fake))
    assert doc["receivers"][0]["webhook_configs"][0]["url"].startswith(cfg.webhook_url)


def test_nginx_front_door_is_loopback_and_upstream_switchable(cfg):
    from opsbook.stack import service_configs

    service_configs.write_all(cfg)
    text = (cfg.run_dir / "nginx.conf").read_text()
    assert f"listen 127.0.0.1:{cfg.ports.front_door};" in text
    assert f"include {cfg.run_dir / 'nginx-upstream.conf'};" in text
    assert service_configs.front_door_port(cfg) == cfg.ports.airflow
    service_configs.front_door_upstream(cfg.ports.airflow_green, cfg)
    assert service_configs.front_door_port(cfg) == cfg.ports.airflow_green


def test_airflow_env(cfg):
    from opsbook.airflow.env import airflow_env, drill_dags_dir

    env = airflow_env(cfg)
    assert env["AIRFLOW_HOME"] == str(cfg.airflow_home)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "opsbook.airflow.lean_executor.LeanLocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:////")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__METRICS__STATSD_PORT"] == str(cfg.ports.statsd)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin,student:viewer"
    assert len(env["AIRFLOW__API_AUTH__JWT_SECRET"].encode()) >= 64
    raw = env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"]
    bundles = {b["name"]: b for b in json.loads(raw)}
    assert bundles["dags"]["kwargs"]["path"] == str(cfg.dags_dir)
    assert bundles["drill"]["kwargs"]["path"] == str(drill_dags_dir(cfg))
    api_url = env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    assert api_url == f"http://127.0.0.1:{cfg.ports.airflow}/execution/"
    # a task supervisor notices its task's exit within a second (default: up to 5 s later), and
    # tolerates the same ~15 s of API outage as with the defaults (5 s × 3 failed heartbeats)
    beat = int(env["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"])
    assert beat == 1 and beat * int(env["AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS"]) >= 15
    with pytest.raises(ValueError, match="executor"):
        airflow_env(cfg, executor="kubernetes")


def test_env_change_changes_only_that_program_section(cfg):
    import dataclasses as dc

    from opsbook.stack import lifecycle as stack
    from opsbook.stack import supervisor_conf

    progs = stack.with_env(stack.components.airflow_programs(cfg), cfg, "local")
    before = configparser.RawConfigParser()
    before.read_string(supervisor_conf.render(progs, cfg))
    changed = [
        dc.replace(p, env={**p.env, "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"})
        if p.name == "scheduler"
        else p
        for p in progs
    ]
    after = configparser.RawConfigParser()
    after.read_string(supervisor_conf.render(changed, cfg))
    assert dict(before["program:scheduler"]) != dict(after["program:scheduler"])
    assert dict(before["program:api-server"]) == dict(after["program:api-server"])
