"""One place that turns typed results into JSON: dataclasses, datetimes, paths, sets.

Why this module exists: results that cross module boundaries (a drill, a deploy, a pipeline run,
a benchmark, a notebook run) are dataclasses, so their fields are named in code instead of in
docstrings. Evidence files and ``resumen.json`` are JSON with stable keys
(``docs/esquema_resumen.md``); this module is the single serializer between the two, so a field
name is the JSON key and nothing is converted twice in different ways.

Files that another process may read while they are being rewritten (evidence that day 5 and the
index read, incidents, the stack's ``mode.json``, the nginx upstream a running nginx reloads) are
written with :func:`write_atomic`, so a reader sees the old file or the new one, never half of
one. Configs written before their service starts keep a plain write.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import threading
from datetime import date, datetime, time, timedelta
from pathlib import Path, PurePath
from typing import Any

JSON_KEY = "json_key"
"""Field metadata naming the JSON key when it cannot be the field's name (``"from"``)."""


def json_key(name: str) -> dict[str, str]:
    """Metadata for ``dataclasses.field(metadata=...)``: serialize the field as ``name``."""
    return {JSON_KEY: name}


def to_json(obj: Any, omit_none: bool = False) -> Any:
    """A JSON-ready copy of ``obj`` (dicts, lists, str, numbers, bool, None only).

    Dataclasses become dicts of their fields (recursively; key = :func:`json_key` metadata or
    the field name), datetimes/dates/times ISO 8601
    strings, timedeltas seconds, paths strings, enums their value, tuples and sets lists (sets
    sorted), NaN ``None``. Anything else with ``item()`` (numpy scalars) is unwrapped; an
    unknown object becomes its ``str``.

    Args:
        obj: the value to convert.
        omit_none: drop dataclass fields whose value is ``None`` (optional fields a result did
            not fill keep their JSON key absent, as before the result was typed).
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = {f.metadata.get(JSON_KEY, f.name): getattr(obj, f.name)
                  for f in dataclasses.fields(obj)}
        return {name: to_json(value, omit_none) for name, value in values.items()
                if not (omit_none and value is None)}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return None if math.isnan(obj) else obj
    if isinstance(obj, dict):
        return {str(k): to_json(v, omit_none) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v, omit_none) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(to_json(v, omit_none) for v in obj)
    if isinstance(obj, (datetime, date, time)):
        return obj.isoformat()
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return to_json(obj.value, omit_none)
    if hasattr(obj, "item"):
        return to_json(obj.item(), omit_none)
    return str(obj)


def dumps(obj: Any, omit_none: bool = False, **kwargs: Any) -> str:
    """``json.dumps(to_json(obj))`` with the project's defaults (indent 2, UTF-8 kept)."""
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(to_json(obj, omit_none), **kwargs)


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Replace ``path`` with ``data`` (text as UTF-8) in one step.

    The bytes go to a temporary file in the same folder, named after the process and the
    thread, and :func:`os.replace` swaps it in: a concurrent reader, or a run killed halfway,
    never leaves a truncated file behind.

    Returns:
        ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
