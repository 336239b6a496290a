"""The two api-server slots of the blue-green deploy: ports, programs, what runs now.

Why this module exists: :mod:`opsbook.deploy.bluegreen` is the six-step procedure; *what* a
slot is — ``blue`` (program ``api-server`` on ``ports.airflow``) or ``green``
(``api-server-green`` on ``ports.airflow_green``), plus its own scheduler in Celery mode — and
how the supervised set is rewritten to hold exactly the live slots is a separate, smaller
concept that the procedure and its roll-back both use.
"""

from __future__ import annotations

import dataclasses

from opsbook.airflow.paths import health_url as airflow_health_url
from opsbook.settings import Settings, settings
from opsbook.stack import lifecycle as stack
from opsbook.stack import service_configs as fd
from opsbook.stack.celery_mode import as_running
from opsbook.stack.programs import Program
from opsbook.stack.state import read_mode, states

SLOTS = ("blue", "green")


def slot_port(slot: str, cfg: Settings = settings) -> int:
    """api-server port of ``slot`` (``blue`` → ``ports.airflow``, ``green`` → ``airflow_green``)."""
    return cfg.ports.airflow if slot == "blue" else cfg.ports.airflow_green


def slot_url(slot: str, cfg: Settings = settings) -> str:
    """Base URL of the api-server of ``slot``."""
    return f"http://127.0.0.1:{slot_port(slot, cfg)}"


def active_slot(cfg: Settings = settings) -> str:
    """The slot the front door sends traffic to (blue when the upstream file is missing)."""
    return "green" if fd.front_door_port(cfg) == cfg.ports.airflow_green else "blue"


def mode_of(cfg: Settings = settings) -> dict:
    """The running stack's recorded mode (executor, workers, live slots)."""
    return read_mode(cfg)


def slot_programs(slot: str, cfg: Settings = settings, release: str | None = None) -> list[Program]:
    """Programs of one slot with their full environment (api-server [+ scheduler in Celery]).

    Args:
        slot: ``blue`` or ``green``.
        cfg: settings.
        release: release label exported as ``OPSBOOK_RELEASE`` to the slot's processes.
    """
    mode = mode_of(cfg)
    executor = mode.get("executor", "local")
    names = ("api-server", "scheduler") if executor == "celery" else ("api-server",)
    base = [p for p in stack.plan(cfg, executor, 0) if p.name in names]
    out = []
    for prog in base:
        env = {**prog.env, **({"OPSBOOK_RELEASE": release} if release else {})}
        if slot == "blue":
            out.append(dataclasses.replace(prog, env=env))
            continue
        port = cfg.ports.airflow_green
        cmd = [str(port) if a == str(cfg.ports.airflow) else a for a in prog.command]
        if prog.name == "api-server":
            env["AIRFLOW__API__PORT"] = str(port)
        out.append(dataclasses.replace(
            prog, name=f"{prog.name}-green", command=cmd, env=env,
            port=port if prog.port else None,
            health_url=airflow_health_url(slot_url("green", cfg)) if prog.health_url
            else None,
        ))
    return out


def live_programs(slot: str, cfg: Settings = settings) -> list[Program]:
    """The programs of a running slot exactly as supervised (argv and env from their specs).

    Re-applying them leaves supervisord's config unchanged, so they are not restarted.
    """
    return as_running(slot_programs(slot, cfg), cfg)


def apply_slots(live: dict[str, list[Program]], cfg: Settings) -> None:
    """Supervise exactly the base stack plus the programs of the ``live`` slots."""
    mode = mode_of(cfg)
    executor, workers = mode.get("executor", "local"), int(mode.get("workers", 0))
    slot_names = {p.name for s in SLOTS for p in slot_programs(s, cfg)}
    progs = as_running(
        [p for p in stack.plan(cfg, executor, workers) if p.name not in slot_names], cfg
    )
    for slot_progs in live.values():
        progs += slot_progs
    stack.apply_programs(progs, cfg, {"executor": executor, "workers": workers,
                                      "live_slots": sorted(live)})


def running_states(cfg: Settings = settings) -> dict[str, str]:
    """Supervisord state name of every program of the stack, by program name."""
    return {name: info["statename"] for name, info in states(cfg).items()}
