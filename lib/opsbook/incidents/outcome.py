"""What every runbook step returns: :class:`Outcome`, and the :data:`Step` signature.

Why this module exists: the runbook engine (:mod:`opsbook.incidents.runbook`) runs checks and
actions, and the real checks (:mod:`opsbook.incidents.diagnostics`) and actions
(:mod:`opsbook.incidents.recovery`) build their results. Both sides need this one small type;
keeping it below them lets the engine import the real steps without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Outcome:
    """Result of a check or an action: ``ok`` plus JSON-ready ``detail``."""

    ok: bool
    detail: Any = None


Step = Callable[[dict[str, Any]], Outcome]
"""A check or action: receives the incident context, returns an :class:`Outcome`."""
