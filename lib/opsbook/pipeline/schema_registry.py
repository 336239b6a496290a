"""Versioned customer schemas: load, validate records, detect versions, upgrade and downgrade.

Why this module exists: the syllabus's ``data_version_manager`` validated customer records
against v1 (id, name, created_at), v2 (+ email, updated_at) and v3 (+ phone) and upgraded
legacy data. Here the versions are Avro schema files (``schemas/clientes_vN.avsc``), every
validation error names the record, the field, the expected and the received type, and the
upgrade/downgrade chain is driven by the schemas themselves: a new field takes the value of
the field named by its ``opsbook.derived_from`` attribute when present, else its declared
default; a downgrade that would drop information refuses to (or reports it when allowed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from opsbook.pipeline.avro_compat import Schema, load_schema_file

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SUBJECT = "clientes"
PROPOSAL_FILE = "clientes_v4_propuesta.avsc"
DERIVED_ATTR = "opsbook.derived_from"
_VERSION_FILE = re.compile(r"^(?P<subject>[a-z_]+)_v(?P<version>\d+)\.avsc$")
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class DataLossError(ValueError):
    """A downgrade would drop information (Spanish message lists the fields)."""


@dataclass(frozen=True)
class FieldError:
    """One validation problem of one record (``record`` is its 0-based position)."""

    record: int
    field: str
    expected: str
    received: str
    problem: str

    def __str__(self) -> str:
        """Render as one Spanish sentence."""
        return (f"registro {self.record}, campo {self.field!r}: {self.problem} "
                f"(esperado: {self.expected}; recibido: {self.received})")


def avro_type_of(value: Any) -> str:
    """Name the Avro type a Python value would be written as (for error messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    return {float: "double", str: "string", bytes: "bytes", dict: "map/record",
            list: "array"}.get(type(value), f"python {type(value).__name__}")


def _type_name(avro_type: Any) -> str:
    if isinstance(avro_type, list):
        return " | ".join(_type_name(t) for t in avro_type)
    if isinstance(avro_type, dict):
        return avro_type.get("logicalType") or avro_type["type"]
    return str(avro_type)


def _predicate(avro_type: Any) -> Callable[[Any], bool]:
    """Compile an Avro type into a fast ``value -> bool`` check (primitives and unions)."""
    if isinstance(avro_type, list):
        checks = [_predicate(t) for t in avro_type]
        return lambda v: any(c(v) for c in checks)
    base = avro_type["type"] if isinstance(avro_type, dict) else avro_type
    if base in _INT_RANGE:
        low, high = _INT_RANGE[base]
        return lambda v: type(v) is int and low <= v <= high
    simple = {"null": lambda v: v is None, "boolean": lambda v: type(v) is bool,
              "string": lambda v: type(v) is str, "bytes": lambda v: type(v) is bytes,
              "float": lambda v: type(v) in (float, int),
              "double": lambda v: type(v) in (float, int)}
    if base in simple:
        return simple[base]
    from fastavro.validation import validate  # complex types: fastavro decides

    return lambda v: validate(v, avro_type, raise_errors=False)


@dataclass(frozen=True)
class Version:
    """One schema version with its compiled field checks."""

    number: int
    schema: Schema

    @cached_property
    def fields(self) -> list[dict[str, Any]]:
        """The record's field definitions, in order."""
        return self.schema.parsed["fields"]

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Field names, in order."""
        return tuple(f["name"] for f in self.fields)

    @cached_property
    def checks(self) -> list[tuple[str, Callable[[Any], bool], bool, str]]:
        """(name, predicate, required, expected type) per field."""
        return [(f["name"], _predicate(f["type"]), "default" not in f, _type_name(f["type"]))
                for f in self.fields]


class SchemaRegistry:
    """The versions of one subject, read from ``<subject>_v<N>.avsc`` files.

    Args:
        directory: folder of the ``.avsc`` files.
        subject: file-name prefix (``clientes``).

    Raises:
        FileNotFoundError: when the folder holds no version of the subject.
    """

    def __init__(self, directory: Path = SCHEMA_DIR, subject: str = SUBJECT):
        self.directory, self.subject = Path(directory), subject
        found = {}
        for path in self.directory.glob(f"{subject}_v*.avsc"):
            match = _VERSION_FILE.match(path.name)
            if match and match["subject"] == subject:
                number = int(match["version"])
                found[number] = Version(number, load_schema_file(path, f"v{number}"))
        if not found:
            raise FileNotFoundError(f"no hay esquemas {subject}_vN.avsc en {self.directory}")
        self._versions = dict(sorted(found.items()))

    @property
    def versions(self) -> list[int]:
        """Version numbers, oldest first."""
        return list(self._versions)

    @property
    def latest(self) -> int:
        """The current version."""
        return self.versions[-1]

    def get(self, number: int) -> Version:
        """Return one version.

        Raises:
            KeyError: Spanish message listing the known versions.
        """
        if number not in self._versions:
            raise KeyError(f"versión v{number} desconocida para {self.subject}: "
                           f"las conocidas son {', '.join(f'v{v}' for v in self.versions)}")
        return self._versions[number]

    def proposal(self) -> Schema:
        """The rejected v4 proposal (not part of the chain)."""
        return load_schema_file(self.directory / PROPOSAL_FILE, "v4 (propuesta)")

    # ---- validation ------------------------------------------------------------------
    def validate_record(self, record: Any, number: int, index: int = 0) -> list[FieldError]:
        """Validate one record against one version.

        Args:
            record: a mapping field → value.
            number: the version to validate against.
            index: the record's position, quoted in the errors.

        Returns:
            Every problem (missing required field, wrong type, extra field); empty when valid.
        """
        version = self.get(number)
        if not isinstance(record, dict):
            return [FieldError(index, "(registro)", f"record {self.subject} v{number}",
                               avro_type_of(record), "el registro no es un objeto")]
        errors = []
        for name, ok, required, expected in version.checks:
            if name not in record:
                if required:
                    errors.append(FieldError(index, name, expected, "(ausente)",
                                             "falta un campo obligatorio"))
            elif not ok(record[name]):
                value = record[name]
                errors.append(FieldError(index, name, expected,
                                         f"{avro_type_of(value)} {value!r:.40}", "tipo incorrecto"))
        for name in record:
            if name not in version.names:
                errors.append(FieldError(index, name, "(no existe en el esquema)",
                                         avro_type_of(record[name]),
                                         f"campo no declarado en v{number}"))
        return errors

    def validate(self, records: Iterable[Any], number: int) -> list[FieldError]:
        """Validate a batch against one version; returns every error of every record."""
        errors: list[FieldError] = []
        for index, record in enumerate(records):
            errors += self.validate_record(record, number, index)
        return errors

    def detect_version(self, record: dict[str, Any]) -> int | None:
        """Guess a record's version: exact field set first, else the oldest it validates as."""
        keys = set(record)
        for number in reversed(self.versions):
            if keys == set(self.get(number).names):
                return number
        for number in self.versions:
            if not self.validate_record(record, number):
                return number
        return None

    # ---- upgrade / downgrade ---------------------------------------------------------
    def upgrade_plan(self, source: int, target: int) -> list[tuple[str, str, Any]]:
        """Steps turning a ``source`` record into a ``target`` one: (field, how, argument).

        ``how`` is ``keep`` (copy), ``derive`` (copy another field, or its default when that one
        is missing/null) or ``default`` (the declared default).
        """
        plan = {name: ("keep", name) for name in self.get(source).names}
        for number in range(source + 1, target + 1):
            new_plan = {}
            for f in self.get(number).fields:
                name = f["name"]
                if name in plan:
                    new_plan[name] = plan[name]
                elif f.get(DERIVED_ATTR) in plan:
                    new_plan[name] = ("derive", (plan[f[DERIVED_ATTR]], f.get("default")))
                else:
                    new_plan[name] = ("default", f.get("default"))
            plan = new_plan
        return [(name, how, arg) for name, (how, arg) in plan.items()]

    def upgrader(self, source: int, target: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """Compile the upgrade ``source`` → ``target`` into one fast function per record.

        Raises:
            ValueError: when ``target`` is older than ``source`` (use :meth:`downgrade`).
        """
        if target < source:
            raise ValueError(f"v{source} → v{target} es un downgrade: usa downgrade()")
        self.get(source), self.get(target)

        def resolve(step: tuple[str, Any]) -> Callable[[dict[str, Any]], Any]:
            how, arg = step
            if how == "keep":
                return lambda r, name=arg: r.get(name)
            if how == "default":
                return lambda r, value=arg: value
            inner, default = resolve(arg[0]), arg[1]
            return lambda r: (lambda v: default if v is None else v)(inner(r))

        getters = [(name, resolve((how, arg))) for name, how, arg in
                   self.upgrade_plan(source, target)]
        return lambda record: {name: get(record) for name, get in getters}

    def upgrade(self, record: dict[str, Any], source: int, target: int | None = None) -> dict:
        """Upgrade one record from ``source`` to ``target`` (default: latest)."""
        return self.upgrader(source, self.latest if target is None else target)(record)

    def downgrade_losses(self, record: dict[str, Any], source: int, target: int) -> list[str]:
        """Spanish description of every value a ``source`` → ``target`` downgrade would drop.

        A dropped field loses nothing when upgrading back would rebuild it: it holds its
        default, or equals the field it derives from.
        """
        kept = set(self.get(target).names)
        losses = []
        for f in self.get(source).fields:
            name, value = f["name"], record.get(f["name"])
            if name in kept:
                continue
            rebuilt = record.get(f[DERIVED_ATTR]) if DERIVED_ATTR in f else f.get("default")
            if value != rebuilt and value != f.get("default"):
                losses.append(f"el campo {name!r} = {value!r} no existe en v{target}")
        return losses

    def downgrade(self, record: dict[str, Any], source: int, target: int,
                  allow_loss: bool = False) -> dict[str, Any]:
        """Downgrade one record, refusing to drop information unless ``allow_loss``.

        Raises:
            DataLossError: listing the fields whose values would be lost.
        """
        losses = self.downgrade_losses(record, source, target)
        if losses and not allow_loss:
            raise DataLossError(f"downgrade v{source} → v{target} con pérdida de datos: "
                                + "; ".join(losses))
        return {name: record.get(name) for name in self.get(target).names}


_DEFAULT: SchemaRegistry | None = None


def registry() -> SchemaRegistry:
    """The shared registry of the packaged customer schemas (loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SchemaRegistry()
    return _DEFAULT
