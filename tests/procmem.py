"""Memory a live process still shares with the process it was forked from (``/proc`` smaps).

Shared by the live checks that a component is a fork of the zygote supervisord
(``opsbook.stack.zygote``): an exec'd Python shares no written page with anyone.
"""

from __future__ import annotations


def shared_dirty_mib(pid: int) -> float:
    """MiB of written (anonymous) pages ``pid`` still shares with another process."""
    for line in open(f"/proc/{pid}/smaps_rollup", encoding="ascii"):
        if line.startswith("Shared_Dirty:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"sin Shared_Dirty en /proc/{pid}/smaps_rollup")
