"""Headless kernels listen on private Unix sockets, never on TCP ports of 127.0.0.1."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from opsbook.course import kernels, runner

pytestmark = pytest.mark.unit


def test_kernel_runs_on_ipc_sockets_in_a_private_folder():
    """What the grader does: nbclient with the private async manager."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    client = NotebookClient(nb, kernel_name=kernels.KERNEL, timeout=60,
                            kernel_manager_class=kernels.PrivateIpcAsyncKernelManager)
    with client.setup_kernel():
        info = client.km.get_connection_info()
        folder = Path(info["ip"]).parent
        assert info["transport"] == "ipc" and folder.name.startswith("opsbook-kernel-")
        sockets = [p for p in folder.iterdir() if stat.S_ISSOCK(p.stat().st_mode)]
        assert len(sockets) == 5, sockets  # shell, iopub, stdin, control, heartbeat
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        client.execute_cell(nb.cells[0], 0)
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    assert not folder.exists()


def test_a_tcp_manager_keeps_jupyters_default_address():
    """Asking for ``tcp`` explicitly makes no private folder (the ``ip`` default is Jupyter's)."""
    from traitlets.config import Config

    cfg = Config()
    cfg.KernelManager.transport = "tcp"
    manager = kernels.PrivateIpcKernelManager(config=cfg)
    assert manager.transport == "tcp" and manager.ip in ("127.0.0.1", "localhost")


def test_papermill_run_uses_the_private_kernel(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("OPSBOOK_EVIDENCE_DIR", str(tmp_path / "evidencia"))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(kernels.KERNELSPEC)
    nb.cells = [nbformat.v4.new_code_cell(
        "import json, os, ipykernel.connect\n"
        "print(json.loads(open(ipykernel.connect.get_connection_file()).read())['transport'])")]
    path = tmp_path / "dia_9_prueba.ipynb"
    nbformat.write(nb, path)
    run = runner.run_one(path, progress=False, timeout_s=120)
    assert run.status == "passed", run.error
    executed = nbformat.read(tmp_path / "evidencia" / "html" / path.name, as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "ipc\n"
    assert "without encryption" not in capfd.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["dia_9_prueba.ipynb", "evidencia"]  # no sockets left


def test_jupyter_servers_of_the_venv_start_kernels_on_ipc(tmp_path):
    """``make setup`` writes the server config; a server with it makes ``ipc`` kernel managers."""
    import json

    from jupyter_client.manager import KernelManager
    from opsbook.course import kernels
    from traitlets.config import Config

    path = kernels.install_server_config(str(tmp_path))
    assert path == tmp_path / "etc/jupyter/jupyter_server_config.json"
    assert kernels.install_server_config(str(tmp_path)) == path  # idempotent
    manager = KernelManager(config=Config(json.loads(path.read_text())),
                            connection_file=str(tmp_path / "kernel-x.json"))
    assert manager.transport == "ipc" and manager.ip == str(tmp_path / "kernel-x-ipc")
    assert kernels.server_config_path() == kernels.server_config_path(None)
    installed = kernels.server_config_path()
    assert installed.is_file(), "make setup installs it in the project venv"
    assert json.loads(installed.read_text()) == kernels.SERVER_CONFIG


def test_nbval_kernels_run_on_private_ipc_sockets_removed_at_shutdown():
    """tests/conftest.py hands nbval the private IPC manager (it builds one without config)."""
    import stat
    from pathlib import Path

    import nbval.kernel
    from opsbook.course.kernels import KERNEL, PrivateIpcKernelManager

    assert nbval.kernel.KernelManager is PrivateIpcKernelManager
    km, kc = nbval.kernel.start_new_kernel(kernel_name=KERNEL, startup_timeout=120)
    try:
        folder = Path(km.ip).parent
        assert km.transport == "ipc" and folder.name.startswith("opsbook-kernel-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert kc.execute_interactive("x = 1 + 1", timeout=60)["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert not folder.exists()
