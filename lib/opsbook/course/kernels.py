"""The Jupyter kernel every headless run of the course starts, on private IPC sockets.

Why this module exists: papermill (``make run``, ``make rerun``) and the grader (nbclient) start
an ``opsbook`` kernel per notebook. By default jupyter_client binds its five ZeroMQ channels
to TCP ports on 127.0.0.1, where any local user can subscribe to the IOPub channel and read
every output of the run (messages are signed, not encrypted; ipykernel warns about it in the
progress log). Here the kernel listens on Unix sockets inside a fresh ``0700`` temporary
folder instead, so only the user running the notebook can reach it, and the warning is gone.
jupyter_client already supports the ``ipc`` transport; what it lacks is a private place for
the sockets (without one it creates them in the current directory), which is all this adds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from traitlets.config import Config

KERNEL = "opsbook"
"""Name of the kernelspec ``make setup`` registers (the project's virtualenv)."""
KERNELSPEC = {"name": KERNEL, "display_name": "Python (opsbook)", "language": "python"}
"""The ``kernelspec`` metadata every course notebook carries."""


@contextmanager
def private_kernel_config() -> Iterator[Config]:
    """Config for a kernel manager: ``ipc`` transport, sockets in a private temporary folder.

    Pass it as ``config=`` to ``nbclient.NotebookClient`` (or through
    ``papermill.execute_notebook``, which hands it to its client). The folder (mode ``0700``)
    and the sockets in it are removed when the block ends.

    Yields:
        The traitlets config.
    """
    with tempfile.TemporaryDirectory(prefix="opsbook-kernel-") as folder:
        cfg = Config()
        cfg.KernelManager.transport = "ipc"
        cfg.KernelManager.ip = f"{folder}/k"
        yield cfg
