"""Shared pytest setup: ``lib/`` on the path and the session-wide live stack."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib"
if str(LIB) not in sys.path:
    sys.path.insert(0, str(LIB))


@pytest.fixture(scope="session")
def live_stack():
    """A healthy native stack for the session; yields ``settings``.

    A stack that is already healthy (``make test`` starts it before pytest) is reused and
    left running; otherwise it is started here and stopped at the end of the session.
    """
    from opsbook.settings import settings
    from opsbook.stack import lifecycle as stack

    started = False
    if not stack.is_healthy():
        stack.up(progress=False)
        started = True
    yield settings
    if started:
        stack.down()
