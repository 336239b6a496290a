"""Zero downtime, measured: a blue-green deploy and a naive restart under the same load.

Why this module exists: the day-4 notebook, the integration test and ``bench/blue_green.py``
all compare the same two things in one run — failed requests and latency percentiles seen by
clients of the front door during (a) a blue-green deploy and (b) a naive restart of the
single api-server (the baseline). This module runs each under
:class:`~opsbook.deploy.loadgen.LoadGenerator` and returns the deploy result with the load summary
and the raw report for the charts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsbook.airflow.client import get_token
from opsbook.deploy import bluegreen as deploy
from opsbook.deploy.loadgen import LoadGenerator, LoadReport
from opsbook.settings import Settings, settings
from opsbook.waiting import wait_until

TAIL_S = 3.0
"""Seconds of load kept after the operation ends (the chart shows the recovery)."""

PASSWORDS_VAR = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
"""Airflow's users file (name → password): what :func:`broken_release_env` gets wrong."""


@dataclass
class DeployUnderLoad:
    """A blue-green deploy measured by the clients: the deploy, the load summary, the samples."""

    deploy: deploy.DeployResult
    load: dict[str, Any]
    """:meth:`~opsbook.deploy.loadgen.LoadReport.summary` (requests, failed, percentiles …)."""
    report: LoadReport


@dataclass
class RestartUnderLoad:
    """The naive baseline: one api-server restarted in place under the same load."""

    component: str
    restart_s: float
    load: dict[str, Any]
    report: LoadReport


def broken_release_env(folder: Path) -> dict[str, str]:
    """Environment of a release that boots healthy but fails its smoke test (step 4).

    The release ships a users file that exists and is valid, with the course users and the
    wrong passwords: the api-server starts and reports healthy, but nobody can log in, so the
    smoke test cannot even get a token. (A missing file would crash it at boot instead, at
    step 2, which is a different failure.) Pass the result as ``green_env``.

    Args:
        folder: where to write the wrong ``passwords.json`` (e.g. a temporary directory).

    Returns:
        ``{AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: <path>}``.
    """
    path = Path(folder) / "passwords_equivocadas.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"admin": "no-es-la-clave", "student": "tampoco"}))
    return {PASSWORDS_VAR: str(path)}


def _token(cfg: Settings) -> str:
    return get_token(cfg.front_door_url, "admin", cfg.secrets["password_admin"])


def deploy_under_load(
    release: str,
    rate: float = 20.0,
    cfg: Settings = settings,
    smoke_dag: str = "smoke",
    green_env: dict[str, str] | None = None,
    echo: Callable[[str], None] | None = print,
) -> DeployUnderLoad:
    """Run :func:`opsbook.deploy.bluegreen.deploy` while ``rate`` req/s hit the front door.

    Returns:
        The deploy result with the load summary and the raw :class:`LoadReport`.
    """
    with LoadGenerator(cfg.front_door_url, _token(cfg), rate=rate) as load:
        result = deploy.deploy(release, cfg, smoke_dag=smoke_dag, green_env=green_env,
                               on_step=lambda n, name: load.mark(f"paso {n}"), echo=echo)
        load.mark("fin")
        time.sleep(TAIL_S)
    return DeployUnderLoad(result, load.report.summary(), load.report)


def naive_restart_under_load(
    rate: float = 20.0, cfg: Settings = settings, timeout_s: float = 300.0
) -> RestartUnderLoad:
    """Restart the serving api-server in place (stop, start) while ``rate`` req/s hit it.

    The restart counts as done when the api-server answers through the front door *and* its
    execution API is built (its first ``/execution`` request blocks it ~7 s; a deploy warms
    the new slot the same way before the switch). Otherwise the cold server would stall under
    the next user of that API, e.g. the workers running a deploy's smoke test.

    Returns:
        The restarted component, its restart time, the load summary and the raw report.
    """
    name = "api-server" if deploy.active_slot(cfg) == "blue" else "api-server-green"
    with LoadGenerator(cfg.front_door_url, _token(cfg), rate=rate) as load:
        load.mark("parada")
        _stop(name, cfg)
        load.mark("arranque")
        t0 = time.monotonic()
        _start_and_wait(name, cfg, timeout_s)
        restart_s = time.monotonic() - t0
        load.mark("sana")
        time.sleep(TAIL_S)
    return RestartUnderLoad(name, round(restart_s, 1), load.report.summary(), load.report)


def _stop(name: str, cfg: Settings) -> None:
    from opsbook.stack import supervisor_conf as sup

    sup.rpc(cfg, timeout=60).supervisor.stopProcess(name, True)


def _start_and_wait(name: str, cfg: Settings, timeout_s: float) -> None:
    from opsbook import loopback
    from opsbook.airflow.paths import health_url as airflow_health_url
    from opsbook.stack import supervisor_conf as sup
    from opsbook.stack.health import http_ok

    sup.rpc(cfg).supervisor.startProcess(name, False)
    url = airflow_health_url(cfg.front_door_url)
    t0 = time.monotonic()
    wait_until(lambda: http_ok(url, timeout=2), timeout_s, 0.5,
               f"{name} vuelva a responder en {url}")
    loopback.get(f"{cfg.front_door_url}/execution/health",
                 timeout=max(5.0, timeout_s - (time.monotonic() - t0))).raise_for_status()


_COMPARED = ("requests", "failed", "errors", "p50_ms", "p95_ms", "p99_ms", "max_ms",
             "longest_outage_s")
"""Load figures compared; ``errors`` counts failures by kind (``http_502``, ``timeout`` …)."""


def compare(blue_green: DeployUnderLoad, naive: RestartUnderLoad) -> dict[str, Any]:
    """Side-by-side summary (JSON-ready) of a deploy under load and the naive baseline."""
    bg, nv = blue_green.load, naive.load
    return {
        "rate_rps": blue_green.report.rate,
        "blue_green": {k: bg[k] for k in _COMPARED},
        "naive_restart": {k: nv[k] for k in _COMPARED},
        "deploy_ok": blue_green.deploy.ok,
        "naive_restart_s": naive.restart_s,
    }


def timeline(report: LoadReport, bucket_s: float = 1.0):
    """Per-second counts of ok and failed requests and p95 latency (DataFrame) for charts."""
    frame = report.frame()
    frame["second"] = (frame["t"] // bucket_s * bucket_s).astype(float)
    grouped = frame.groupby("second")
    out = grouped.agg(ok=("ok", "sum"), total=("ok", "size"),
                      p95_ms=("latency_s", lambda s: s.quantile(0.95) * 1000))
    out["failed"] = out["total"] - out["ok"]
    return out.reset_index()
