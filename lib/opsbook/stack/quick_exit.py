"""Run one Airflow command, then leave without CPython's interpreter teardown.

Why this module exists: a stopped api-server spends ~3.5 s of CPU *after* uvicorn's "Finished
server process", freeing its modules and heap object by object (strace shows no system call in
between) before the process is gone, and every stop waits for that: each mode switch, each
blue-green retire, each ``stack down``. The smaller components pay the same, in proportion.
The stack runs the Airflow components as ``python -m opsbook.stack.quick_exit <airflow args>``:
Airflow's own shutdown runs as usual (uvicorn's lifespan, the scheduler ending its executor),
then the ``atexit`` handlers (Airflow disposes of its DB engine there), logging and the standard
streams are flushed, and :func:`os._exit` ends the process with Airflow's exit code. Nothing
is left for the teardown to do but free memory, which the kernel does at once. Python has no
switch for this, and no package offers it, hence these lines. For ``airflow api-server`` it
first installs :mod:`opsbook.airflow.lean_execution_api` (the execution API built for the one
Task SDK version the stack runs) and :mod:`opsbook.airflow.fastapi_signatures` (each signature
analysed once while FastAPI builds the routes), before uvicorn imports the app.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys


def exit_code(value: object) -> int:
    """The process exit code for a ``main()`` result or a ``SystemExit.code``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)  # what `sys.exit("message")` would have printed
    return 1


def main() -> None:
    """Run ``airflow <args>`` in this process and ``os._exit`` with its code."""
    from airflow.__main__ import main as airflow_main

    if sys.argv[1:2] == ["api-server"]:
        from opsbook.airflow import fastapi_signatures, lean_execution_api

        lean_execution_api.install()
        fastapi_signatures.install()
    sys.argv = ["airflow", *sys.argv[1:]]
    try:
        code = exit_code(airflow_main())
    except SystemExit as exc:
        code = exit_code(exc.code)
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
