"""The disaster-recovery drill of ``docs/recuperacion_ante_desastres.md``, measured on the stack.

Why this module exists: the restore time the doc quotes must come from a run anyone can repeat,
not from a script kept outside the repository. :func:`drill` follows the doc's procedure on the
running stack (LocalExecutor + SQLite, the default mode): a ``smoke`` run completes, a hot backup
is taken (SQLite backup API for the Airflow metadata and the warehouse, a copy of
``var/secrets``), the stack stops, the metadata database, the warehouse and the secrets are
deleted, the backup is copied back, the stack starts, and the result is verified (stack healthy,
the earlier run still in Airflow's history, every warehouse table identical row for row, a new
``smoke`` run succeeds). Every step is timed; ``scripts/dr_drill.py`` runs it and saves the
result as evidence.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsbook.settings import Settings, settings

SMOKE_DAG = "smoke"


class RecoveryError(RuntimeError):
    """The drill cannot run here, or the restored stack is not what was backed up."""


@dataclass
class DrillReport:
    """What the drill measured.

    Attributes:
        started: UTC time of the drill's start (ISO).
        backup_dir: where the backup was written.
        steps: ordered ``{"paso", "s", "detalle"}`` rows, one per step, with its duration.
        warehouse_before: table → ``{"rows", "sha256"}`` before the disaster.
        warehouse_after: the same after the restore (must be equal).
        smoke_run: the run completed before the backup (must survive the restore).
        new_run_state: state of the ``smoke`` run triggered after the restore.
    """

    started: str
    backup_dir: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    warehouse_before: dict[str, dict[str, Any]] = field(default_factory=dict)
    warehouse_after: dict[str, dict[str, Any]] = field(default_factory=dict)
    smoke_run: str = ""
    new_run_state: str = ""

    def seconds(self, step: str) -> float:
        """Duration of one step (by its name)."""
        return next(s["s"] for s in self.steps if s["paso"] == step)

    @property
    def restore_s(self) -> float:
        """The doc's figure: from stopping the stack to a verified restore (steps 3–7)."""
        return round(sum(s["s"] for s in self.steps if s["paso"] in RESTORE_STEPS), 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (evidence)."""
        return {**asdict(self), "restore_s": self.restore_s}


RESTORE_STEPS = ("parar la pila", "destruir el estado", "restaurar la copia", "arrancar la pila",
                 "verificar")


def fingerprint(db: Path) -> dict[str, dict[str, Any]]:
    """Row count and SHA-256 of the ordered rows of every table of a SQLite file."""
    out: dict[str, dict[str, Any]] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        for table in tables:
            digest = hashlib.sha256()
            rows = 0
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1, 2'
                                    if _columns(conn, table) > 1 else
                                    f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(row).encode())
                rows += 1
            out[table] = {"rows": rows, "sha256": digest.hexdigest()}
    return out


def _columns(conn: sqlite3.Connection, table: str) -> int:
    return len(conn.execute(f'PRAGMA table_info("{table}")').fetchall())


def backup(dest: Path, cfg: Settings = settings) -> list[str]:
    """Hot backup: SQLite backup API for metadata and warehouse, a copy of the secrets.

    Returns:
        The names of the files and folders written in ``dest``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for src in (cfg.airflow_home / "airflow.db", cfg.warehouse_path):
        if src.exists():
            with sqlite3.connect(src) as source, sqlite3.connect(dest / src.name) as target:
                source.backup(target)
            written.append(src.name)
    shutil.copytree(cfg.secrets_dir, dest / "secrets", dirs_exist_ok=True)
    return [*written, "secrets"]


def destroy(cfg: Settings = settings) -> list[str]:
    """Delete the metadata database, the warehouse and the secrets (the disaster)."""
    gone = []
    for path in (cfg.airflow_home / "airflow.db", cfg.warehouse_path):
        for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
            if extra.exists():
                extra.unlink()
                gone.append(str(extra.relative_to(cfg.var)))
    if cfg.secrets_dir.exists():
        shutil.rmtree(cfg.secrets_dir)
        gone.append(str(cfg.secrets_dir.relative_to(cfg.var)))
    return gone


def restore(src: Path, cfg: Settings = settings) -> list[str]:
    """Copy the backup back: secrets first (0700/0600), then metadata and warehouse."""
    shutil.copytree(src / "secrets", cfg.secrets_dir, dirs_exist_ok=True)
    cfg.secrets_dir.chmod(0o700)
    for path in cfg.secrets_dir.iterdir():
        path.chmod(0o600)
    restored = ["secrets"]
    for target in (cfg.airflow_home / "airflow.db", cfg.warehouse_path):
        if (src / target.name).exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / target.name, target)
            restored.append(target.name)
    return restored


def _smoke_run(cfg: Settings, timeout_s: float) -> tuple[str, str]:
    from opsbook.airflow.dagruns import DagRunClient

    client = DagRunClient(cfg=cfg)
    try:
        run_id = client.trigger(SMOKE_DAG)
        return run_id, client.wait(SMOKE_DAG, run_id, timeout_s)["state"]
    finally:
        client.close()


def _verify(report: DrillReport, cfg: Settings, timeout_s: float) -> str:
    from opsbook.airflow.dagruns import DagRunClient
    from opsbook.stack.control import status

    if not status(cfg).get("healthy"):
        raise RecoveryError("la pila no está sana tras la restauración")
    client = DagRunClient(cfg=cfg)
    try:
        old = client.run(SMOKE_DAG, report.smoke_run)
    finally:
        client.close()
    if old.get("state") != "success":
        raise RecoveryError(f"la ejecución previa {report.smoke_run} no está en el historial")
    report.warehouse_after = fingerprint(cfg.warehouse_path)
    if report.warehouse_after != report.warehouse_before:
        raise RecoveryError("el almacén restaurado no coincide con el de antes del desastre")
    report.new_run_state = _smoke_run(cfg, timeout_s)[1]
    if report.new_run_state != "success":
        raise RecoveryError(f"la ejecución nueva de {SMOKE_DAG} terminó en {report.new_run_state}")
    rows = sum(t["rows"] for t in report.warehouse_after.values())
    return (f"pila sana; {report.smoke_run} sigue en el historial; almacén idéntico "
            f"({len(report.warehouse_after)} tablas, {rows} filas); {SMOKE_DAG} nuevo success")


def drill(cfg: Settings = settings, timeout_s: float = 900.0,
          echo: Callable[[str], None] | None = print) -> DrillReport:
    """Back up, destroy, restore and verify the running stack, timing each step.

    Args:
        cfg: settings of the running stack (LocalExecutor + SQLite).
        timeout_s: deadline of the stack start and of each DAG run.
        echo: where progress lines go (None: quiet).

    Returns:
        The report; :attr:`DrillReport.restore_s` is the doc's figure.

    Raises:
        RecoveryError: not the default mode, or the restored stack differs from the backup.
    """
    from opsbook.stack import lifecycle
    from opsbook.stack.control import down, status

    state = status(cfg)
    if state.get("mode", {}).get("executor", "local") != "local" or not state.get("healthy"):
        raise RecoveryError("el simulacro necesita la pila sana en modo por defecto "
                            "(opsbook stack up, LocalExecutor + SQLite)")
    if not cfg.warehouse_path.exists():
        raise RecoveryError(f"no hay almacén SQLite en {cfg.warehouse_path}: carga datos antes")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report = DrillReport(started=datetime.now(UTC).isoformat(timespec="seconds"),
                         backup_dir=str(cfg.var / "backups" / stamp))
    dest = Path(report.backup_dir)

    def prepare() -> str:
        report.smoke_run, run_state = _smoke_run(cfg, timeout_s)
        if run_state != "success":
            raise RecoveryError(f"{SMOKE_DAG} terminó en {run_state} antes del simulacro")
        report.warehouse_before = fingerprint(cfg.warehouse_path)
        return f"{report.smoke_run} success"

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("ejecución previa de smoke", prepare),
        ("copia en caliente", lambda: backup(dest, cfg)),
        ("parar la pila", lambda: f"{down(cfg)['stopped']} programas parados"),
        ("destruir el estado", lambda: destroy(cfg)),
        ("restaurar la copia", lambda: restore(dest, cfg)),
        ("arrancar la pila", lambda: lifecycle.up("local", 0, timeout_s, cfg, False)["healthy"]),
        ("verificar", lambda: _verify(report, cfg, timeout_s)),
    ]
    for name, action in steps:
        t0 = time.monotonic()
        detail = action()
        seconds = round(time.monotonic() - t0, 1)
        report.steps.append({"paso": name, "s": seconds, "detalle": detail})
        if echo:
            echo(f"{name}: {seconds} s · {detail}")
    return report
