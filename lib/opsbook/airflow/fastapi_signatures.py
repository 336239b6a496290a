"""The api-server reads each endpoint's and dependency's signature once, not once per router level.

Why this module exists: the api-server is the last program of a stack start to be ready, and
most of its start is FastAPI building Airflow's ~650 routes. FastAPI re-creates every route at
each ``include_router`` (Airflow nests its routers two or three deep) and, for each, analyses
the endpoint and every dependency again: ``fastapi.dependencies.utils.get_typed_signature``
ran 8707 times for a few hundred distinct callables, each an ``inspect.signature`` with its
string annotations evaluated. Measured on the course machine (2026-12-08, app built in
process, three pairs): 3.50 → 2.85 s of CPU for the whole app.

:func:`install` wraps that one function with a memo keyed by the callable's *identity*, so a
signature is reused only for the very same object, and only while the parts the signature is
read from are unchanged: its ``__signature__``, and the annotations, defaults and keyword
defaults of the function behind it (Cadwyn sets ``__signature__`` on functions it adapts). Any
difference recomputes. The result is the same ``inspect.Signature`` FastAPI would build
(immutable; its defaults are the same objects either way); ``tests/unit/test_fastapi_signatures.py``
builds Airflow's whole app with and without it and compares both OpenAPI documents (core API
and execution API). FastAPI has no option to skip the repeated analysis, hence these lines.
Installed by :mod:`opsbook.stack.quick_exit` for ``airflow api-server`` only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

_ORIGINAL: dict[str, Callable[..., inspect.Signature]] = {}


def _stamp(call: Any) -> tuple:
    """What a signature of ``call`` is read from, to compare on a hit."""
    target = inspect.unwrap(call) if callable(call) else call
    if not inspect.isfunction(target) and not inspect.ismethod(target):
        target = type(target).__dict__.get("__call__", target)  # a callable instance
    func = getattr(target, "__func__", target)
    annotations = getattr(func, "__annotations__", None)
    return (getattr(call, "__signature__", None), getattr(func, "__signature__", None),
            dict(annotations) if isinstance(annotations, dict) else annotations,
            getattr(func, "__defaults__", None), getattr(func, "__kwdefaults__", None))


def memoized(original: Callable[..., inspect.Signature]) -> Callable[..., inspect.Signature]:
    """``original`` (``get_typed_signature``) with the identity-keyed, checked memo."""
    memo: dict[int, tuple[Any, tuple, inspect.Signature]] = {}

    def get_typed_signature(call: Callable[..., Any]) -> inspect.Signature:
        stamp = _stamp(call)
        hit = memo.get(id(call))
        try:
            if hit is not None and hit[0] is call and hit[1] == stamp:
                return hit[2]
        except Exception:  # noqa: BLE001 - an annotation that cannot be compared: recompute
            pass
        signature = original(call)
        memo[id(call)] = (call, stamp, signature)  # keeps `call` alive: its id stays its own
        return signature

    get_typed_signature.memo = memo  # type: ignore[attr-defined]
    return get_typed_signature


def install() -> bool:
    """Memoize FastAPI's ``get_typed_signature`` in this process.

    Returns:
        True if it was installed now; False if it already was.
    """
    from fastapi.dependencies import utils

    if "get_typed_signature" in _ORIGINAL:
        return False
    _ORIGINAL["get_typed_signature"] = utils.get_typed_signature
    utils.get_typed_signature = memoized(utils.get_typed_signature)
    return True


def uninstall() -> None:
    """Put FastAPI's own ``get_typed_signature`` back (tests)."""
    from fastapi.dependencies import utils

    if "get_typed_signature" in _ORIGINAL:
        utils.get_typed_signature = _ORIGINAL.pop("get_typed_signature")
