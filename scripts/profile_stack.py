"""Profile the native stack: start phases and PSS per component, as tables in docs/rendimiento.md.

Runs, on an empty temporary ``var`` (so nothing of the working stack is touched; the stack's ports
must be free, i.e. ``opsbook stack down`` or another ``OPSBOOK_PORT_OFFSET``):

1. ``up`` from nothing (new metadata DB: the schema has to be created),
2. PSS per supervisord program (maximum of 5 samples 1 s apart, as ``bench/stack_start.py``),
3. ``up`` again on the healthy stack (warm: must return at once),
4. ``down``, then ``up`` on the kept ``var`` (restart: the schema is current) and ``down`` again.

Prints the figures and replaces the block ``<!-- perfil:LABEL -->`` … ``<!-- /perfil:LABEL -->`` of
``docs/rendimiento.md`` (appends it when missing). Machine load (``os.getloadavg``) is recorded with
the figures: other stacks on the same machine slow every phase.

Usage: ``.venv/bin/python scripts/profile_stack.py --label despues [--offset 600] [--no-doc]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rendimiento.md"
MIB = 2**20


def _timed(fn) -> tuple[float, object]:
    t0 = time.monotonic()
    out = fn()
    return time.monotonic() - t0, out


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def measure(offset: int | None, var: Path, timeout_s: float = 900.0) -> dict:
    """Run the four steps on ``var`` and return the figures (see the module docstring)."""
    if offset is not None:
        os.environ["OPSBOOK_PORT_OFFSET"] = str(offset)
    os.environ["OPSBOOK_VAR_DIR"] = str(var)
    for key in [k for k in os.environ if k.startswith("OPSBOOK_") and k.endswith("_PORT")]:
        del os.environ[key]
    from opsbook.settings import Settings
    from opsbook.stack import lifecycle as stack
    from opsbook.stack import profile

    cfg = Settings.from_env()
    out: dict = {"load_before": _load(), "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")}
    try:
        out["fresh_s"], _ = _timed(lambda: stack.up(cfg=cfg, timeout_s=timeout_s, progress=False))
        out["fresh"] = profile.start_profile(cfg)
        out["memory"] = profile.peak_component_memory(cfg)
        out["warm_s"], _ = _timed(lambda: stack.up(cfg=cfg, timeout_s=timeout_s, progress=False))
        out["down_s"], _ = _timed(lambda: stack.down(cfg=cfg, strict=False))
        out["restart_s"], _ = _timed(
            lambda: stack.up(cfg=cfg, timeout_s=timeout_s, progress=False)
        )
        out["restart"] = profile.start_profile(cfg)
    finally:
        out["down2_s"], _ = _timed(lambda: stack.down(cfg=cfg, strict=False))
    out["load_after"] = _load()
    return out


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def render(label: str, res: dict) -> str:
    """Markdown block of one profile run (without the block's marker lines)."""
    fresh, restart = res["fresh"], res["restart"]
    lines = [
        f"### Perfil «{label}» — {res['when']} UTC, carga (1/5/15 min) "
        f"{res['load_before']} → {res['load_after']}",
        "",
        "| Paso | s |",
        "|---|---:|",
        f"| `stack up` desde cero (BD nueva) | {res['fresh_s']:.1f} |",
        f"| `stack up` con la pila ya sana (templado) | {res['warm_s']:.1f} |",
        f"| `stack down` | {res['down_s']:.1f} |",
        f"| `stack up` tras `down` (reinicio, `var` conservado) | {res['restart_s']:.1f} |",
        f"| `stack down` (segundo) | {res['down2_s']:.1f} |",
        "",
        "| Fase de `up` (s desde el inicio) | desde cero | reinicio |",
        "|---|---:|---:|",
        f"| supervisord en marcha | {_fmt(fresh.supervisord_s)} | {_fmt(restart.supervisord_s)} |",
        f"| esquema comprobado / migrado | {_fmt(fresh.migrated_s)} | {_fmt(restart.migrated_s)} |",
    ]
    names = sorted(set(fresh.component_healthy_s) | set(restart.component_healthy_s),
                   key=lambda n: fresh.component_healthy_s.get(n, 1e9))
    for name in names:
        lines.append(
            f"| sano: {name} | {_fmt(fresh.component_healthy_s.get(name))} | "
            f"{_fmt(restart.component_healthy_s.get(name))} |"
        )
    lines += [
        f"| toda la pila sana | {_fmt(fresh.healthy_s)} | {_fmt(restart.healthy_s)} |",
        f"| API de ejecución calentada (s de la llamada) | {_fmt(fresh.warm_execution_api_s)} | "
        f"{_fmt(restart.warm_execution_api_s)} |",
        f"| `up` completo | {_fmt(fresh.up_s)} | {_fmt(restart.up_s)} |",
        "",
        f"Esquema: desde cero «{fresh.schema}»; reinicio «{restart.schema}».",
        "",
        "| Componente (árbol de procesos) | PSS MiB | procesos |",
        "|---|---:|---:|",
    ]
    for comp in res["memory"]:
        lines.append(f"| {comp.name} | {comp.pss_bytes / MIB:.0f} | {comp.processes} |")
    total = sum(c.pss_bytes for c in res["memory"])
    count = sum(c.processes for c in res["memory"])
    lines.append(f"| **total** | **{total / MIB:.0f}** | **{count}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print and (unless ``--no-doc``) write the block; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="actual", help="name of the block in the doc")
    parser.add_argument("--offset", type=int, default=None, help="OPSBOOK_PORT_OFFSET to use")
    parser.add_argument("--timeout", type=float, default=900.0, help="deadline of each up (s)")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsbook-perfil-") as tmp:
        res = measure(args.offset, Path(tmp) / "var", args.timeout)
    block = render(args.label, res)
    from opsbook.course.run_profile import emit

    emit(DOC, args.label, block, write=not args.no_doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
