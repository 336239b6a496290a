"""A light log of which cells ran without error in this kernel, keyed by their visible text.

Why this module exists: the closing recap of a day (:mod:`opsbook.course.recap`) must know
which of the day's check cells the student's run passed, without trusting what the notebook
prints and without asking those cells to report on themselves. The day's first cell
(``preparar``) calls :func:`start`, which registers an IPython ``post_run_cell`` hook that
records, for every executed cell, a digest of its visible text (hidden-test region removed, so
the instructor's source, the student release and the grader's merged copy all give the same
key) and whether it last ran without error. It imports nothing heavy: ``preparar`` must answer
in about a second.
"""

from __future__ import annotations

import hashlib

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_OUTCOMES: dict[str, bool] = {}


def public_text(source: str) -> str:
    """The visible part of a cell: no hidden-test region, no blank lines or margins."""
    keep, hidden = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(HIDDEN_BEGIN):
            hidden = True
        elif stripped.startswith(HIDDEN_END):
            hidden = False
        elif not hidden and stripped:
            keep.append(stripped)
    return "\n".join(keep)


def _key(source: str) -> str:
    return hashlib.sha256(public_text(source).encode()).hexdigest()


def record(source: str, success: bool) -> None:
    """Record that the cell ``source`` just ran, with or without error."""
    if public_text(source):
        _OUTCOMES[_key(source)] = bool(success)


def outcome(source: str) -> bool | None:
    """How a cell with this visible text last ran here (``None``: not run in this kernel)."""
    return _OUTCOMES.get(_key(source))


def _on_cell(result) -> None:
    record(getattr(result.info, "raw_cell", "") or "", result.success)


def start() -> bool:
    """Register the hook in the running IPython kernel (idempotent) and forget earlier runs.

    Returns:
        ``False`` outside IPython (nothing to log), ``True`` otherwise.
    """
    _OUTCOMES.clear()
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the kernel
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if _on_cell not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _on_cell)
    return True


def stop() -> None:
    """Unregister the hook (tests) and forget what was recorded."""
    _OUTCOMES.clear()
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is not None and _on_cell in shell.events.callbacks["post_run_cell"]:
        shell.events.unregister("post_run_cell", _on_cell)
