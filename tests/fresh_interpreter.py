"""Run a script in a fresh Python and read back the one JSON result it prints.

Shared by the unit tests that build Airflow's apps in a clean interpreter (the execution API
for one version, the whole app with memoized signatures): a module Airflow imports once per
process cannot be built twice in the test process itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PREFIX = "RESULT "
"""The script prints its result on one line that starts with this."""


def run_for_result(script: str, cwd: Path, env: dict[str, str] | None = None,
                   timeout_s: float = 300) -> dict:
    """Run ``script`` with this interpreter and return the JSON after :data:`PREFIX`.

    Raises:
        AssertionError: the script failed (with the tail of its stderr) or printed no result.
    """
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout_s, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next((x for x in done.stdout.splitlines() if x.startswith(PREFIX)), None)
    assert line is not None, f"sin línea {PREFIX!r}: {done.stdout[-2000:]}"
    return json.loads(line.removeprefix(PREFIX))
