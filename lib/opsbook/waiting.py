"""The one way opsbook waits for something: poll a predicate until it holds or a deadline passes.

Why this module exists: the project waits for many things (a DAG run to end, an alert to fire,
a scrape to land, a process to exit). Each hand-written ``while time.time() < deadline`` loop
had its own timeout message and its own bugs. Every wait goes through :func:`wait_until`,
built on tenacity's ``Retrying`` (stop after a delay, fixed interval, retry while the result is
falsy), so a timeout always says *what* was awaited and the *last state* seen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")
_NOT_YET: Any = object()  # what an attempt that raised a ``retry_on`` exception returns


class WaitTimeout(TimeoutError):
    """A wait ran past its deadline.

    Attributes:
        what: what was awaited (Spanish, shown to the user).
        last: the last value the predicate returned (or the last exception's text).
        timeout_s: the deadline in seconds.
    """

    def __init__(self, what: str, last: object, timeout_s: float):
        self.what, self.last, self.timeout_s = what, last, timeout_s
        super().__init__(f"{what}: no se cumplió en {timeout_s:g} s (último estado: {last!r})")


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.5,
    what: str = "la condición",
    *,
    retry_on: tuple[type[BaseException], ...] = (),
    until: Callable[[T], object] | None = None,
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns a truthy value.

    Args:
        predicate: a function of no arguments; its first truthy result ends the wait.
        timeout: seconds before giving up (the predicate is always called at least once).
        interval: seconds between calls.
        what: what is being awaited, in Spanish, for the timeout message.
        retry_on: exception types that count as "not yet" (e.g. ``httpx.TransportError``
            while a service starts); any other exception propagates at once.
        until: when given, the wait ends on the first result for which ``until(result)`` is
            true instead of the first truthy one, so the predicate can return the state it saw
            (``"running"``) and a timeout reports it.

    Returns:
        The predicate's first truthy result (or first accepted by ``until``).

    Raises:
        WaitTimeout: the deadline passed; carries ``what`` and the last state seen.
    """
    last: list[object] = [None]
    done = until or bool

    def attempt() -> T | None:
        try:
            value = predicate()
        except retry_on as exc:
            last[0] = f"{type(exc).__name__}: {exc}"
            return _NOT_YET
        last[0] = value
        return value

    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda value: value is _NOT_YET or not done(value)),
    )
    try:
        return retrying(attempt)
    except RetryError:
        raise WaitTimeout(what, last[0], timeout) from None


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where a progress bar is worth drawing)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return shell is not None and "IPKernelApp" in shell.config


def elapsed_bar(what: str, timeout_s: float, show: bool | None = None):
    """A ``tqdm.auto`` bar of seconds waited out of ``timeout_s`` (a widget in JupyterLab).

    Callers set ``bar.n`` to the seconds elapsed, ``bar.set_postfix_str(state)`` to the last
    state seen, call ``bar.refresh()``, and ``bar.close()`` at the end.

    Args:
        what: what is awaited (Spanish), the bar's label.
        timeout_s: the deadline, the bar's total.
        show: draw it; default only inside a Jupyter kernel (never in services or tests).
    """
    from tqdm.auto import tqdm

    return tqdm(total=round(timeout_s), desc=what, unit="s", leave=True,
                disable=not (in_notebook() if show is None else show),
                bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s · {postfix}")
