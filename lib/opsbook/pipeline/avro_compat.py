"""Avro schema compatibility with the Confluent Schema Registry modes, explained in Spanish.

Why this module exists: before a new schema version ships, a data team must know whether
readers using the new schema can still read old data (BACKWARD), whether old readers can read
new data (FORWARD), or both (FULL) — against the previous version or every previous one
(``*_TRANSITIVE``). The rules are the Avro specification's *schema resolution*: a reader field
missing in the writer needs a default, writer-only fields are ignored, named types must keep
their name (or list it in ``aliases``), and the only type changes allowed are the promotions
int→long→float→double and string↔bytes. Every incompatibility is reported in words (Spanish),
never as a bare ``False``. The unit tests check the verdicts against fastavro actually writing
with one schema and reading with the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastavro.schema import SchemaParseException, parse_schema

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}
"""Writer type → reader types it can be read as (Avro specification, schema resolution)."""

# mode → (check new-reads-old, check old-reads-new, against every previous version)
MODES: dict[str, tuple[bool, bool, bool]] = {
    "BACKWARD": (True, False, False),
    "BACKWARD_TRANSITIVE": (True, False, True),
    "FORWARD": (False, True, False),
    "FORWARD_TRANSITIVE": (False, True, True),
    "FULL": (True, True, False),
    "FULL_TRANSITIVE": (True, True, True),
    "NONE": (False, False, False),
}


class SchemaFileError(ValueError):
    """A schema file that cannot be read or is not a valid Avro schema (message in Spanish)."""


@dataclass(frozen=True)
class Schema:
    """A parsed Avro schema plus the named types it defines.

    Attributes:
        label: how reports name it (file name or ``v3``).
        parsed: fastavro's parsed form.
        named: fully-qualified name → definition of every named type.
        raw: the JSON document as read.
    """

    label: str
    parsed: Any
    named: dict[str, Any]
    raw: Any = field(repr=False, default=None)


@dataclass(frozen=True)
class Incompatibility:
    """One reason why a reader schema cannot read data written with a writer schema."""

    reader: str
    writer: str
    path: str
    reason: str

    def __str__(self) -> str:
        """Render as one Spanish sentence."""
        return f"lector {self.reader} / escritor {self.writer}, en {self.path}: {self.reason}"


@dataclass
class CompatibilityReport:
    """Verdict of one mode for a new schema against its previous versions."""

    mode: str
    new: str
    checked_against: list[str]
    incompatibilities: list[Incompatibility]

    @property
    def compatible(self) -> bool:
        """True when no incompatibility was found."""
        return not self.incompatibilities

    def describe(self) -> str:
        """Spanish multi-line summary: verdict and every reason."""
        against = ", ".join(self.checked_against) or "(ninguna)"
        verdict = "COMPATIBLE" if self.compatible else "INCOMPATIBLE"
        lines = [f"{self.new} es {verdict} en modo {self.mode} (comparado con: {against})"]
        lines += [f"  - {inc}" for inc in self.incompatibilities]
        return "\n".join(lines)


def parse(raw: Any, label: str = "esquema") -> Schema:
    """Parse an Avro schema document with fastavro.

    Args:
        raw: the decoded JSON (dict, list or str).
        label: name used in reports.

    Raises:
        SchemaFileError: when fastavro rejects the schema.
    """
    named: dict[str, Any] = {}
    try:
        parsed = parse_schema(raw, named_schemas=named, _write_hint=False)
    except (SchemaParseException, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SchemaFileError(f"{label}: esquema Avro inválido: {exc}") from exc
    return Schema(label=label, parsed=parsed, named=named, raw=raw)


def load_schema_file(path: str | Path, label: str | None = None) -> Schema:
    """Read and parse one ``.avsc`` file.

    Args:
        path: the file.
        label: name used in reports (default: the file name).

    Raises:
        SchemaFileError: missing/empty file, not UTF-8, invalid JSON or invalid Avro.
    """
    path = Path(path)
    label = label or path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchemaFileError(f"{label}: no se puede leer: {exc.strerror}") from exc
    if not data.strip():
        raise SchemaFileError(f"{label}: fichero vacío, se esperaba un esquema Avro en JSON")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaFileError(f"{label}: no es UTF-8 (byte {exc.start}: {exc.reason})") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaFileError(
            f"{label}: JSON inválido en línea {exc.lineno}, columna {exc.colno}: {exc.msg}"
        ) from exc
    return parse(raw, label)


def _kind(schema: Any) -> str:
    """Avro type name of a parsed (sub)schema: primitive, record, enum, union..."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return schema["type"]
    return schema


def _resolve(schema: Any, named: dict[str, Any]) -> Any:
    """Follow named-type references and drop logical types (Avro resolves on the base type)."""
    if isinstance(schema, str) and schema not in PRIMITIVES:
        return named[schema]
    if isinstance(schema, dict) and schema.get("type") in PRIMITIVES:
        return schema["type"]
    return schema


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _describe_type(schema: Any) -> str:
    kind = _kind(schema)
    if kind == "union":
        return "unión[" + ", ".join(_describe_type(b) for b in schema) + "]"
    if isinstance(schema, dict) and "name" in schema:
        return f"{kind} {_short(schema['name'])}"
    if isinstance(schema, str) and schema not in PRIMITIVES:
        return _short(schema)
    return kind


class _Checker:
    """Recursive reader/writer resolution check (one pair of schemas)."""

    def __init__(self, reader: Schema, writer: Schema):
        self.reader, self.writer = reader, writer
        self.found: list[Incompatibility] = []
        self._seen: set[tuple[str, str]] = set()

    def fail(self, path: str, reason: str) -> None:
        self.found.append(Incompatibility(self.reader.label, self.writer.label, path, reason))

    def readable(self, r: Any, w: Any) -> bool:
        """True when r can read w (silent probe, used to pick union branches)."""
        probe = _Checker(self.reader, self.writer)
        probe._seen = set(self._seen)
        probe.check(r, w, "")
        return not probe.found

    def check(self, r: Any, w: Any, path: str) -> None:
        r, w = _resolve(r, self.reader.named), _resolve(w, self.writer.named)
        rk, wk = _kind(r), _kind(w)
        if wk == "union":
            for branch in w:
                if rk == "union":
                    ok = any(self.readable(rb, branch) for rb in r)
                else:
                    ok = self.readable(r, branch)
                if not ok:
                    self.fail(path, f"la rama {_describe_type(branch)} de la unión del escritor "
                                    f"no la puede leer el lector ({_describe_type(r)})")
            return
        if rk == "union":
            if not any(self.readable(rb, w) for rb in r):
                self.fail(path, f"ninguna rama de la unión del lector ({_describe_type(r)}) "
                                f"puede leer el tipo del escritor {_describe_type(w)}")
            return
        if rk in PRIMITIVES or wk in PRIMITIVES:
            if rk != wk and rk not in PROMOTIONS.get(wk, set()):
                self.fail(path, f"tipo incompatible: el escritor usa {_describe_type(w)} y el "
                                f"lector espera {_describe_type(r)} (solo se admiten las "
                                "promociones int→long→float→double y string↔bytes)")
            return
        if rk != wk:
            self.fail(path, f"tipo incompatible: el escritor usa {_describe_type(w)} y el "
                            f"lector espera {_describe_type(r)}")
            return
        if rk == "array":
            self.check(r["items"], w["items"], f"{path}[]")
        elif rk == "map":
            self.check(r["values"], w["values"], f"{path}{{}}")
        else:
            self._named(r, w, rk, path)

    def _named(self, r: dict, w: dict, kind: str, path: str) -> None:
        accepted = {_short(r["name"])} | {_short(a) for a in r.get("aliases", [])}
        if _short(w["name"]) not in accepted:
            self.fail(path or _short(r["name"]),
                      f"el {kind} se llama {_short(w['name'])!r} en el escritor y "
                      f"{_short(r['name'])!r} en el lector (sin alias que los una)")
            return
        if kind == "fixed" and r["size"] != w["size"]:
            self.fail(path, f"fixed de tamaño distinto: escritor {w['size']}, lector {r['size']}")
        elif kind == "enum":
            missing = [s for s in w["symbols"] if s not in r["symbols"]]
            if missing and "default" not in r:
                self.fail(path, f"los símbolos {missing} del enum del escritor no existen en el "
                                "lector y el lector no declara 'default'")
        elif kind == "record":
            key = (r["name"], w["name"])
            if key in self._seen:  # recursive type already being checked
                return
            self._seen.add(key)
            self._record(r, w, path or _short(r["name"]))

    def _record(self, r: dict, w: dict, path: str) -> None:
        writer_fields = {f["name"]: f for f in w["fields"]}
        for rf in r["fields"]:
            names = [rf["name"], *rf.get("aliases", [])]
            wf = next((writer_fields[n] for n in names if n in writer_fields), None)
            where = f"{path}.{rf['name']}"
            if wf is not None:
                self.check(rf["type"], wf["type"], where)
            elif "default" not in rf:
                self.fail(where, f"el campo {rf['name']!r} del lector no existe en el escritor "
                                 "y no tiene valor por defecto (ni un alias con el nombre "
                                 "anterior)")


def incompatibilities(reader: Schema, writer: Schema) -> list[Incompatibility]:
    """Every reason why ``reader`` cannot read data written with ``writer``.

    Args:
        reader: the schema the consumer reads with.
        writer: the schema the data was written with.

    Returns:
        An empty list when the reader can read the writer's data.
    """
    checker = _Checker(reader, writer)
    checker.check(reader.parsed, writer.parsed, "")
    return checker.found


def can_read(reader: Schema, writer: Schema) -> bool:
    """True when ``reader`` can read data written with ``writer``."""
    return not incompatibilities(reader, writer)


def check(mode: str, new: Schema, previous: list[Schema]) -> CompatibilityReport:
    """Apply a Schema Registry compatibility mode.

    Args:
        mode: one of :data:`MODES` (case-insensitive).
        new: the proposed schema.
        previous: earlier versions, newest first; non-transitive modes use only the first.

    Raises:
        ValueError: unknown mode, or no previous version for a mode that needs one.
    """
    key = mode.upper()
    if key not in MODES:
        raise ValueError(f"modo {mode!r} desconocido: usa uno de {', '.join(MODES)}")
    backward, forward, transitive = MODES[key]
    against = previous if transitive else previous[:1]
    if key != "NONE" and not against:
        raise ValueError(f"el modo {key} necesita al menos una versión anterior")
    found: list[Incompatibility] = []
    for old in against if key != "NONE" else []:
        if backward:
            found += incompatibilities(new, old)
        if forward:
            found += incompatibilities(old, new)
    labels = [s.label for s in against] if key != "NONE" else []
    return CompatibilityReport(key, new.label, labels, found)
