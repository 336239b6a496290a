"""A student's session in a real JupyterLab: kernel, first cells, a rendered table, the preflight.

Everything else runs the notebooks headless (papermill, nbval); this opens the day-1 notebook of
the student release (the source stripped by ``course.release.student_notebook``)
in JupyterLab from the project venv (bound to 127.0.0.1, random token) with Chromium, checks
the kernel shown is «Python (opsbook)», runs the cells up to the first one that needs the
live stack, and checks a table rendered. With no stack at the kernel's ports (a port offset
where nothing runs), the first code cell must show the preflight's sentence naming
``make stack-up``, short, without a library traceback.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from opsbook.settings import settings
from opsbook.stack.health import http_ok
from opsbook.waiting import wait_until
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DAY1 = settings.notebooks_dir / "dia_1_testing" / "dia_1_testing.ipynb"
KERNEL_LABEL = "Python (opsbook)"
FIRST_TABLE_MARK = "dag_policy.RULES"
"""Source of the policy table cell: the last cell before the DAG test suite and the live stack."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _offset_with_nothing_running() -> int:
    for offset in range(21000, 40000, 173):
        if all(_free(p + offset) for p in (8080, 8088, 9090, 9093, 9095, 9102)):
            return offset
    raise RuntimeError("no free port range for a stack-less kernel")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _student_day1() -> nbformat.NotebookNode:
    """Day 1 exactly as the student release carries it (no solutions, no hidden checks)."""
    from opsbook.course.release import student_notebook

    return student_notebook(nbformat.read(DAY1, as_version=4))


def _cell_index(mark: str) -> int:
    cells = _student_day1().cells
    return next(i for i, c in enumerate(cells) if mark in c.source)


def _first_code_cell() -> int:
    cells = _student_day1().cells
    return next(i for i, c in enumerate(cells) if c.cell_type == "code")


@contextmanager
def jupyterlab(tmp_path: Path, **env: str) -> Iterator[str]:
    """JupyterLab from the project venv on day 1 of the student release; yields its URL."""
    root = tmp_path / "alumno"
    (root / DAY1.parent.name).mkdir(parents=True)
    nbformat.write(_student_day1(), root / DAY1.parent.name / DAY1.name)
    port, token = _free_port(), secrets.token_urlsafe(16)
    args = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = (tmp_path / "jupyterlab.log").open("w")
    proc = subprocess.Popen(args, env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or http_ok(f"{base}/api/status?token={token}"),
                   timeout=120, what="JupyterLab responde")
        assert proc.poll() is None, (tmp_path / "jupyterlab.log").read_text()[-2000:]
        yield f"{base}/lab/tree/{DAY1.parent.name}/{DAY1.name}?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _open_and_run(page, url: str, last_cell: int):
    """Open the notebook, check the kernel label, run cells 0..last_cell with Shift+Enter."""
    page.goto(url)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    kernel = page.locator(".jp-NotebookPanel-toolbar .jp-Toolbar-kernelName")
    expect(kernel).to_have_text(KERNEL_LABEL, timeout=120_000)  # "No Kernel" until it starts
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=120_000)
    news = page.locator(".jp-toast-button", has_text="No")
    if news.count():
        news.first.click()
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    cells.first.click()
    page.keyboard.press("Escape")  # command mode: Shift+Enter runs and moves down
    for _ in range(last_cell + 1):
        page.keyboard.press("Shift+Enter")
    return cells


def _output_text(cells, index: int, needle: str, timeout_ms: int = 120_000) -> str:
    output = cells.nth(index).locator(".jp-OutputArea-output", has_text=needle)
    output.first.wait_for(timeout=timeout_ms)
    return cells.nth(index).locator(".jp-OutputArea").inner_text()


@pytest.mark.stack
def test_student_runs_day1_in_jupyterlab(live_stack, page, tmp_path):
    table_cell, preflight_cell = _cell_index(FIRST_TABLE_MARK), _first_code_cell()
    env = {"OPSBOOK_PORT_OFFSET": os.environ.get("OPSBOOK_PORT_OFFSET", "0")}
    with jupyterlab(tmp_path, **env) as url:
        cells = _open_and_run(page, url, table_cell)
        ready = _output_text(cells, preflight_cell, "Todo listo para el día 1")
        assert "stack" in ready
        table = cells.nth(table_cell).locator(".jp-OutputArea-output table")
        table.wait_for(timeout=180_000)
        assert table.locator("tbody tr").count() >= 5, "one row per policy rule"
        assert "owner" in table.inner_text()
        stderr = "application/vnd.jupyter.stderr"
        errors = page.locator(f".jp-OutputArea-output[data-mime-type='{stderr}']")
        assert not [t for t in errors.all_inner_texts() if "Error" in t]
        cells.nth(table_cell).scroll_into_view_if_needed()
        settings.evidence_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(settings.evidence_dir / "alumno_jupyterlab.png"))
        assert _kernel_transports(url) == ["ipc"], "the student's kernel listens on no TCP port"
    assert not page.js_errors


def _kernel_transports(url: str) -> list[str]:
    """Transport of every kernel the JupyterLab at ``url`` runs (from its connection files)."""
    import json
    from urllib.parse import parse_qs, urlsplit

    import httpx
    from jupyter_core.paths import jupyter_runtime_dir

    parts = urlsplit(url)
    token = parse_qs(parts.query)["token"][0]
    kernels = httpx.get(f"{parts.scheme}://{parts.netloc}/api/kernels",
                        headers={"Authorization": f"token {token}"}, timeout=30).json()
    runtime = Path(jupyter_runtime_dir())
    return [json.loads((runtime / f"kernel-{k['id']}.json").read_text())["transport"]
            for k in kernels]


def test_preflight_names_make_stack_up_without_a_stack(page, tmp_path):
    preflight_cell = _first_code_cell()
    env = {"OPSBOOK_PORT_OFFSET": str(_offset_with_nothing_running())}
    with jupyterlab(tmp_path, **env) as url:
        cells = _open_and_run(page, url, preflight_cell)
        text = _output_text(cells, preflight_cell, "make stack-up", timeout_ms=60_000)
        assert "PreflightError" in text and "El stack no está sano" in text
        assert "%tb verbose" in text, "the full traceback stays one command away"
        assert "urllib" not in text and "Traceback" not in text, "short: no library traceback"
        settings.evidence_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(settings.evidence_dir / "alumno_jupyterlab_sin_stack.png"))
