"""Recorded mode and live state of the native stack (read-only queries).

Why this module exists: ``up``, ``down``, ``status``, the CLI, the tests and the day
notebooks all ask the same questions (which programs does this stack have, what state does
supervisord report, is everything healthy?) without starting anything; keeping the answers
here lets :mod:`opsbook.stack.lifecycle` and :mod:`opsbook.stack.control` share them without cycles.
"""

from __future__ import annotations

import json
import xmlrpc.client
from pathlib import Path

from opsbook.settings import Settings, settings
from opsbook.stack import health
from opsbook.stack import supervisor_conf as sup
from opsbook.stack.programs import Program


class StackError(RuntimeError):
    """The stack did not reach the requested state (the message says what to do)."""


def mode_path(cfg: Settings = settings) -> Path:
    """``var/run/mode.json``: active executor, workers and program list."""
    return cfg.run_dir / "mode.json"


def cpu_share_marker(cfg: Settings = settings) -> Path:
    """``var/run/cpu_reservation.json``: CPUs to give back (:mod:`opsbook.stack.cpu_share`)."""
    return cfg.run_dir / "cpu_reservation.json"


def read_mode(cfg: Settings = settings) -> dict:
    """The recorded mode of the stack (empty dict if it was never started)."""
    try:
        return json.loads(mode_path(cfg).read_text())
    except (OSError, ValueError):
        return {}


def states(cfg: Settings = settings) -> dict[str, dict]:
    """Process info reported by supervisord, per program name (empty when supervisord is down)."""
    try:
        return {p["name"]: p for p in sup.rpc(cfg).supervisor.getAllProcessInfo()}
    except (OSError, xmlrpc.client.Error):
        return {}


def recorded_programs(cfg: Settings = settings) -> list[Program]:
    """Programs recorded in ``mode.json`` (name, port and health probe only)."""
    return [
        Program(p["name"], [], port=p["port"], health_url=p["health_url"], optional=p["optional"])
        for p in read_mode(cfg).get("programs", [])
    ]


def component_health(cfg: Settings = settings) -> dict[str, bool]:
    """Health of every recorded program (all False when supervisord is down)."""
    now = states(cfg)
    af = health.airflow_health(cfg) if now else None
    return {
        p.name: health.program_healthy(p, now.get(p.name, {}).get("statename", ""), af)
        for p in recorded_programs(cfg)
    }


def is_healthy(cfg: Settings = settings) -> bool:
    """Whether supervisord runs and every non-optional recorded program is healthy."""
    progs = recorded_programs(cfg)
    if not progs or not sup.is_running(cfg):
        return False
    ok = component_health(cfg)
    return all(ok.get(p.name, False) for p in progs if not p.optional)
