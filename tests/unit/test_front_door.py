"""Draining the front door waits for the pre-reload nginx workers by pid, not by their title.

``nginx -s reload`` returns before the master has started new workers or told the old ones
to stop: a check of worker titles right after it sees no "shutting down" worker and lets the
old upstream be stopped while an old worker still forwards to it (measured: one 502 in a
blue-green deploy). The wait must follow the old pids until they are gone.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from opsbook.stack import service_configs

pytestmark = pytest.mark.unit


def test_drain_waits_for_old_worker_pids_until_they_exit():
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.8)"])
    assert service_configs.front_door_drained({worker.pid}, timeout_s=0.2) == [worker.pid]
    assert service_configs.front_door_drained({worker.pid}, timeout_s=10) == []
    worker.wait(timeout=5)
    assert service_configs.front_door_drained(set(), timeout_s=0) == []
