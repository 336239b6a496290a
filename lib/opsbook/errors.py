"""Errors a student can read: one Spanish message naming what to look at, no library traceback.

Why this module exists: a notebook cell that fails deep inside a client library (urllib,
prometheus-api-client, the Airflow client) shows forty lines of someone else's code and hides
the one fact that matters (the stack is down, the PromQL does not parse, the run failed and
here is its log). Every room raises its own subclass of :class:`StudentError` with that fact as
the message, chained ``from`` the original exception. In Jupyter, IPython honours
``_render_traceback_``: the cell shows only the message; ``%tb verbose`` (or ``%xmode Verbose``)
shows the full chained traceback again.
"""

from __future__ import annotations

FULL_TRACEBACK_HINT = "(traceback completo: %tb verbose)"
"""Last line under every short error: how to see the library traceback."""


def _full_traceback(exc: BaseException) -> list[str] | None:
    """IPython's verbose structured traceback when the user asked for it, else None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    itb = getattr(shell, "InteractiveTB", None)
    if itb is None or getattr(itb, "mode", "") != "Verbose":
        return None
    return itb.structured_traceback(type(exc), exc, exc.__traceback__)


class StudentError(RuntimeError):
    """An error whose message alone tells the student what happened and what to do.

    Subclasses live in the room that raises them (preflight, PromQL, DAG import, DAG run).
    """

    def _render_traceback_(self) -> list[str]:
        """Lines IPython shows for this error (short unless the traceback mode is Verbose)."""
        full = _full_traceback(self)
        if full is not None:
            return full
        name = type(self).__name__
        lines = str(self).splitlines() or [""]
        return [f"\x1b[0;31m{name}\x1b[0m: {lines[0]}", *lines[1:], FULL_TRACEBACK_HINT]
