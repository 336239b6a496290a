"""What went wrong with a student's DAG, as one message pointing at the file line or the run log.

Why this module exists: a DAG that does not import shows up as a long dag-processor traceback
in ``/importErrors``; a failed or stuck run is a state string. A student needs the file and
line, or the run's page in the Airflow UI where its task logs are. These errors carry exactly
that (see :class:`opsbook.errors.StudentError` for the short rendering in Jupyter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from opsbook.errors import StudentError
from opsbook.settings import settings

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def ui_run_url(dag_id: str, run_id: str, base: str | None = None) -> str:
    """The run's page in the Airflow UI (its task instances and their logs)."""
    root = (base or settings.airflow_url).rstrip("/")
    return f"{root}/dags/{dag_id}/runs/{quote(run_id, safe='')}"


def ui_task_url(dag_id: str, run_id: str, task_id: str, base: str | None = None) -> str:
    """The page of one task instance in the Airflow UI (its log)."""
    return f"{ui_run_url(dag_id, run_id, base)}/tasks/{quote(task_id, safe='')}"


class DagRunError(StudentError):
    """A DAG run ended in a state other than ``success``.

    Attributes:
        dag_id: the DAG.
        run_id: the run.
        state: its last state.
        url: its page in the Airflow UI.
        failed_tasks: ids of its failed task instances (when known).
    """

    def __init__(self, dag_id: str, run_id: str, state: str, base: str | None = None,
                 failed_tasks: list[str] | None = None, why: str = "terminó en"):
        self.dag_id, self.run_id, self.state = dag_id, run_id, state
        self.url, self.failed_tasks = ui_run_url(dag_id, run_id, base), failed_tasks or []
        lines = [f"La ejecución {run_id} de {dag_id} {why} '{state}'. Mira su log en {self.url}"]
        lines += [f"  tarea fallida {t}: {ui_task_url(dag_id, run_id, t, base)}"
                  for t in self.failed_tasks]
        super().__init__("\n".join(lines))


class DagRunTimeout(DagRunError, TimeoutError):
    """A DAG run did not end before the deadline (still a ``TimeoutError`` for callers)."""

    def __init__(self, dag_id: str, run_id: str, state: str, timeout_s: float,
                 base: str | None = None):
        super().__init__(dag_id, run_id, state, base,
                         why=f"no terminó en {timeout_s:.0f} s: sigue en")


@dataclass(frozen=True)
class ImportProblem:
    """Where a DAG file fails to import.

    Attributes:
        file: the DAG file as Airflow reports it.
        line: line of the failure in that file (None when the error has no frame there).
        code: that source line, when the traceback shows it.
        error: the last line of the traceback (``SyntaxError: '(' was never closed``).
    """

    file: str
    line: int | None
    code: str | None
    error: str

    def __str__(self) -> str:
        where = f"{self.file}, línea {self.line}" if self.line else self.file
        code = f"\n    {self.code}" if self.code else ""
        return f"{where}: {self.error}{code}"


def import_problem(err: dict) -> ImportProblem:
    """Parse one ``/importErrors`` entry (``filename``, ``stack_trace``) into file and line."""
    file, trace = str(err.get("filename", "")), str(err.get("stack_trace", ""))
    lines = [ln for ln in trace.splitlines() if ln.strip()]
    line = code = None
    for i, text in enumerate(lines):
        match = _FRAME.search(text)
        if match and (match.group(1) == file or match.group(1).endswith("/" + file.lstrip("/"))
                      or file.endswith(match.group(1).rsplit("/", 1)[-1])):
            line = int(match.group(2))
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            code = nxt.strip() if nxt.startswith("    ") and not _FRAME.search(nxt) else None
    return ImportProblem(file, line, code, lines[-1].strip() if lines else "error desconocido")


class DagImportError(StudentError):
    """A DAG file does not import: the message gives file, line and the error.

    Attributes:
        problems: one :class:`ImportProblem` per failing file.
    """

    def __init__(self, problems: list[ImportProblem], dag_id: str | None = None):
        self.problems = problems
        head = f"El DAG {dag_id!r} no aparece porque" if dag_id else "Airflow informa de que"
        body = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{head} un fichero de DAG no se importa:\n{body}")
