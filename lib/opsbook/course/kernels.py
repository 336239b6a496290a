"""The Jupyter kernel every headless run of the course starts, on private IPC sockets.

Why this module exists: papermill (``make run``, ``make rerun``), the grader (nbclient) and nbval
(``make test``) start an ``opsbook`` kernel per notebook. By default jupyter_client binds its
five ZeroMQ channels to TCP ports on 127.0.0.1, where any local user can subscribe to the IOPub
channel and read every output of the run (messages are signed, not encrypted; ipykernel warns
about it in the progress log). Here the kernel listens on Unix sockets inside a fresh ``0700``
temporary folder instead, so only the user running the notebook can reach it, and the warning
is gone.
jupyter_client already supports the ``ipc`` transport; what it lacks is a private place for
the sockets (without one it creates them in the current directory), which is all this adds:
one kernel manager class, in jupyter_client's async flavour for nbclient and papermill and its
sync flavour for nbval.

JupyterLab (``make lab``) gets the same transport from :func:`install_server_config`, which
``make setup`` runs: the ``jupyter_server_config.json`` of the virtualenv (packages write only
``.d`` folders, which Jupyter reads for extensions, not for other settings), so every Jupyter
server of the project venv puts each kernel's sockets next to its connection file, in
Jupyter's runtime folder (``0700``).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import CaselessStrEnum, HasTraits, default

KERNEL = "opsbook"
"""Name of the kernelspec ``make setup`` registers (the project's virtualenv)."""
KERNELSPEC = {"name": KERNEL, "display_name": "Python (opsbook)", "language": "python"}
"""The ``kernelspec`` metadata every course notebook carries."""


SERVER_CONFIG = {"KernelManager": {"transport": "ipc"}}
"""What every Jupyter server of the venv loads: kernels on IPC sockets (in the runtime folder)."""


def server_config_path(prefix: str | None = None) -> Path:
    """The venv's ``jupyter_server_config.json`` (``sys.prefix`` by default)."""
    base = Path(prefix or sys.prefix)
    return base / "etc" / "jupyter" / "jupyter_server_config.json"


def install_server_config(prefix: str | None = None) -> Path:
    """Write :data:`SERVER_CONFIG` into the venv's Jupyter config (idempotent); returns the path.

    Args:
        prefix: the virtualenv (default: the running interpreter's ``sys.prefix``).
    """
    path = server_config_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(SERVER_CONFIG, indent=2) + "\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


class _PrivateIpc(HasTraits):
    """``ipc`` transport with the sockets in a fresh ``0700`` folder, removed at shutdown.

    Mixed into jupyter_client's two kernel managers below (a ``HasTraits`` so that traitlets
    sets up the trait and its dynamic default).
    """

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    @default("ip")
    def _private_ip(self) -> str:
        if self.transport != "ipc":
            return super()._ip_default()
        return f"{tempfile.mkdtemp(prefix='opsbook-kernel-')}/k"

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self.transport == "ipc":
            shutil.rmtree(Path(self.ip).parent, ignore_errors=True)


class PrivateIpcKernelManager(_PrivateIpc, KernelManager):
    """The synchronous manager on private ``ipc`` sockets.

    For nbval (``make test``), whose ``nbval.kernel.KernelManager`` the test configuration
    replaces with this class.
    """


class PrivateIpcAsyncKernelManager(_PrivateIpc, AsyncKernelManager):
    """The asynchronous manager on private ``ipc`` sockets.

    Passed as ``kernel_manager_class=`` to ``nbclient.NotebookClient`` and
    ``papermill.execute_notebook`` (the grader, ``make run``/``make rerun``, ``nbsync``).
    """
