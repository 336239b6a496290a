"""Parse each DAG file the way the dag-processor does and report what a CI policy needs.

Why this module exists: the day-1 DAG suite (``tests/dags/test_dag_sintaxis.py``) must name
the *file* that breaks, measure how long each file's top-level code takes, and see things a
``DagBag`` alone does not expose (a ``Variable.get`` at parse time, a ``start_date`` that
changes between parses, ``catchup`` left implicit). Like Airflow's dag-processor, one process
imports Airflow once and forks a fresh child per file, so each file's parse time includes the
modules *it* imports. It runs as ``python -m opsbook.airflow.dag_inspect <folder>`` with a
throw-away ``AIRFLOW_HOME`` (no stack, no database, no network) and prints one JSON report; the
pytest
process itself never imports Airflow.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

MARKER = "DAG_INSPECT_REPORT "
DYNAMIC_CALLS = {"now", "today", "utcnow", "days_ago"}


def dag_files(folder: str | Path) -> list[Path]:
    """The DAG files of ``folder`` as the tests see them: ``*.py`` not starting with ``_``."""
    return sorted(p for p in Path(folder).glob("*.py") if not p.name.startswith("_"))


def explicit_catchup(source: str) -> bool | None:
    """Whether every ``dag(...)``/``DAG(...)`` call in ``source`` passes ``catchup=``.

    Returns:
        ``True``/``False``, or ``None`` when the source has no such call or does not parse.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", getattr(n.func, "attr", None)) in ("dag", "DAG")]
    if not calls:
        return None
    return all(any(k.arg == "catchup" for k in c.keywords) for c in calls)


def _dag_info(dag) -> dict:
    tasks = {}
    for t in dag.tasks:
        tasks[t.task_id] = {"owner": t.owner, "retries": t.retries,
                            "downstream": sorted(t.downstream_task_ids)}
    return {
        "dag_id": dag.dag_id,
        "tags": sorted(dag.tags or []),
        "catchup": dag.catchup,
        "schedule": None if dag.schedule is None else str(dag.schedule),
        "start_date": dag.start_date.isoformat() if dag.start_date else None,
        "default_retries": (dag.default_args or {}).get("retries"),
        "tasks": tasks,
    }


def _install_lookup_recorder(lookups: list) -> None:
    """Record every Variable/Connection lookup (the real lookup still runs afterwards)."""
    import airflow.sdk.execution_time.context as ctx

    real_var, real_conn = ctx._get_variable, ctx._get_connection

    def get_variable(key, *args, **kwargs):
        lookups.append(["Variable", key])
        return real_var(key, *args, **kwargs)

    def get_connection(conn_id, *args, **kwargs):
        lookups.append(["Connection", conn_id])
        return real_conn(conn_id, *args, **kwargs)

    ctx._get_variable, ctx._get_connection = get_variable, get_connection
    try:
        from airflow.models.variable import Variable as LegacyVariable
    except ImportError:  # pragma: no cover - legacy model removed
        return
    real_legacy = LegacyVariable.get.__func__

    def legacy_get(cls, key, *args, **kwargs):
        lookups.append(["Variable", key])
        return real_legacy(cls, key, *args, **kwargs)

    LegacyVariable.get = classmethod(legacy_get)


def inspect_file(path: Path) -> dict:
    """Parse one file (in the current process) and describe it; see :func:`inspect_folder`."""
    from airflow.dag_processing.dagbag import DagBag

    lookups: list = []
    _install_lookup_recorder(lookups)
    started, cpu_started = time.perf_counter(), time.process_time()
    bag = DagBag(dag_folder=str(path))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    errors = {Path(k).name: str(v) for k, v in bag.import_errors.items()}
    dags = [_dag_info(d) for d in bag.dags.values()]
    again = {} if errors else {d.dag_id: d.start_date for d in DagBag(str(path)).dags.values()}
    for info in dags:
        second = again.get(info["dag_id"])
        info["start_date_second_parse"] = second.isoformat() if second else None
    return {"file": path.name, "parse_seconds": round(seconds, 4),
            "parse_cpu_seconds": round(cpu, 4), "import_errors": errors,
            "dags": dags, "lookups": lookups,
            "explicit_catchup": explicit_catchup(path.read_text(errors="replace"))}


def _child(path: Path, write_fd: int) -> None:
    try:
        result = inspect_file(path)
    except BaseException as exc:  # noqa: BLE001 - report anything, never hang the parent
        result = {"file": path.name, "parse_seconds": None, "parse_cpu_seconds": None,
                  "dags": [], "lookups": [],
                  "explicit_catchup": None,
                  "import_errors": {path.name: f"{type(exc).__name__}: {exc}"}}
    with os.fdopen(write_fd, "w") as out:
        out.write(json.dumps(result, default=str))


def _read_until_eof(fd: int, deadline: float) -> str:
    chunks = []
    with os.fdopen(fd, "rb") as src:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([src], [], [], 0.5)
            if ready:
                chunk = os.read(src.fileno(), 65536)
                if not chunk:
                    return b"".join(chunks).decode()
                chunks.append(chunk)
    return ""


def inspect_folder(folder: str | Path, timeout_s: float = 120.0) -> dict[str, dict]:
    """Fork one child per DAG file of ``folder`` (Airflow preloaded here, like the processor).

    Args:
        folder: the DAG folder.
        timeout_s: per-file deadline; a child still running is killed and reported.

    Returns:
        File name → report (``parse_seconds`` wall and ``parse_cpu_seconds`` CPU time of the
        first parse, ``import_errors``, ``dags``, ``lookups``, ``explicit_catchup``).
    """
    import airflow.dag_processing.dagbag  # noqa: F401 - preload, as the dag-processor does
    import airflow.sdk  # noqa: F401

    reports = {}
    for path in dag_files(folder):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(read_fd)
            _child(path, write_fd)
            os._exit(0)
        os.close(write_fd)
        raw = _read_until_eof(read_fd, time.monotonic() + timeout_s)
        if not raw:  # past the deadline (or died before writing): make sure it is gone
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # The child closes the pipe just before it exits: EOF does not mean it has exited
        # yet, so wait for it; it may also be reaped already (SIGCHLD ignored by an ancestor).
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        reports[path.name] = json.loads(raw) if raw else {
            "file": path.name, "parse_seconds": None, "parse_cpu_seconds": None,
            "dags": [], "lookups": [],
            "explicit_catchup": None,
            "import_errors": {path.name: f"el análisis superó {timeout_s:.0f} s"}}
    return reports


def main(argv: list[str] | None = None) -> int:
    """``python -m opsbook.airflow.dag_inspect <folder>``: print the JSON report after a marker."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("uso: python -m opsbook.airflow.dag_inspect <carpeta_de_dags>", file=sys.stderr)
        return 2
    print(MARKER + json.dumps(inspect_folder(argv[0])), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
