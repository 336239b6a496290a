"""Customer landing files: how they name their schema version, how to read, write and generate them.

Why this module exists: customer files reach the landing folder from systems of different
ages. The design (documented here once, used by the pipeline, the notebook and the tests):

* **Avro container** (``*.avro``): carries its writer schema. Its version is found by comparing
  the schema's Parsing Canonical Form with each registered version; an unknown schema that the
  current version can still read (checked with :mod:`opsbook.pipeline.avro_compat`) is read through
  Avro
  schema resolution, otherwise the file is rejected with the incompatibilities as the reason.
* **CSV** (``clientes_v<N>_<anything>.csv``, UTF-8, header row) and **JSON Lines**
  (``clientes_v<N>_<anything>.jsonl``, one object per line): the file name carries the version.
  A JSON object may also carry ``schema_version``; it must then agree with the file name.
  CSV cells are text: ``long`` columns are parsed as integers and an empty cell of an optional
  column is null.

Anything else (other name, other extension, empty file, not UTF-8, bad JSON) raises
:class:`CustomerFileError` with a Spanish reason, which the loader turns into a quarantine entry.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from opsbook.pipeline.avro_compat import incompatibilities, parse
from opsbook.pipeline.schema_registry import SchemaRegistry, registry

FORMATS = ("csv", "jsonl", "avro")
_TEXT_NAME = re.compile(r"^clientes_v(?P<version>\d+)_[\w.-]+\.(?P<ext>csv|jsonl)$")
_NAMES = ["Ana", "Luis", "Marta", "Jorge", "Lucía", "Pablo", "Sofía", "Diego", "Elena", "Raúl"]
_SURNAMES = ["García", "Pérez", "López", "Sánchez", "Romero", "Navarro", "Torres", "Ruiz"]


class CustomerFileError(ValueError):
    """A landing file that cannot be read as customer records (Spanish reason)."""


@dataclass
class CustomerFile:
    """Records read from one landing file, with the version they were written in."""

    path: Path
    version: int
    records: list[dict[str, Any]]
    origin: str = ""
    errors: list[str] = field(default_factory=list)


# ---- generation ----------------------------------------------------------------------
def legacy_records(n: int, version: int, seed: int = 0, first_id: int = 1) -> list[dict]:
    """Generate ``n`` valid customer records of one schema version (deterministic per seed).

    Args:
        n: number of records.
        version: 1, 2 or 3.
        seed: random seed.
        first_id: id of the first record (ids are consecutive).
    """
    rng = random.Random(seed * 7919 + version)
    base = datetime(2020, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        first, last = rng.choice(_NAMES), rng.choice(_SURNAMES)
        created = base + timedelta(minutes=rng.randrange(3_000_000))
        rec: dict[str, Any] = {"id": first_id + i, "name": f"{first} {last}",
                               "created_at": created.isoformat().replace("+00:00", "Z")}
        if version >= 2:
            rec["email"] = (f"{first}.{last}{first_id + i}@ejemplo.es".lower()
                            if rng.random() < 0.8 else None)
            updated = created + timedelta(days=rng.randrange(400))
            rec["updated_at"] = updated.isoformat().replace("+00:00", "Z")
        if version >= 3:
            rec["phone"] = f"+34 6{rng.randrange(10**8):08d}" if rng.random() < 0.7 else None
        out.append(rec)
    return out


def write_customer_file(folder: Path, records: list[dict], version: int, fmt: str,
                        name: str = "lote", reg: SchemaRegistry | None = None) -> Path:
    """Write records as a landing file of one version and format.

    Args:
        folder: destination folder (created).
        records: the records (written as given: no validation, so tests can write bad data).
        version: the schema version the file declares.
        fmt: ``csv``, ``jsonl`` or ``avro``.
        name: middle part of the file name (``clientes_v<N>_<name>.<fmt>``).
        reg: registry (default: the packaged one).

    Returns:
        The written path.
    """
    reg = reg or registry()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"clientes_v{version}_{name}.{fmt}"
    if fmt == "avro":
        with path.open("wb") as fo:
            fastavro.writer(fo, reg.get(version).schema.parsed, records)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                        encoding="utf-8")
    elif fmt == "csv":
        names = list(reg.get(version).names)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=names, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if r.get(k) is None else r.get(k)) for k in names}
                         for r in records)
        path.write_text(buf.getvalue(), encoding="utf-8")
    else:
        raise ValueError(f"formato {fmt!r} no soportado: usa uno de {', '.join(FORMATS)}")
    return path


# ---- reading -------------------------------------------------------------------------
def _version_from_name(path: Path, reg: SchemaRegistry) -> int:
    match = _TEXT_NAME.match(path.name)
    if not match:
        raise CustomerFileError(
            f"nombre {path.name!r} no declara la versión: se esperaba clientes_v<N>_<lote>.csv "
            "o .jsonl, o un contenedor .avro")
    version = int(match["version"])
    if version not in reg.versions:
        raise CustomerFileError(f"esquema v{version} desconocido (conocidos: "
                                f"{', '.join(f'v{v}' for v in reg.versions)})")
    return version


def _text(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise CustomerFileError("fichero vacío: no hay cabecera ni registros")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CustomerFileError(f"no es UTF-8: byte 0x{data[exc.start]:02x} en la posición "
                                f"{exc.start} ({exc.reason})") from exc


def _coerce_csv(row: dict[str, str], version: int, reg: SchemaRegistry) -> dict[str, Any]:
    types = {f["name"]: f["type"] for f in reg.get(version).fields}
    out: dict[str, Any] = {}
    for key, value in row.items():
        kind = types.get(key)
        nullable = isinstance(kind, list) and "null" in kind
        if value == "" and nullable:
            out[key] = None
        elif kind in ("int", "long") and re.fullmatch(r"-?\d+", value or ""):
            out[key] = int(value)
        else:
            out[key] = value  # left as text: validation reports the expected type
    return out


def _read_csv(path: Path, version: int, reg: SchemaRegistry) -> list[dict]:
    reader = csv.DictReader(io.StringIO(_text(path)))
    records = []
    for row in reader:
        if None in row:  # more cells than header columns
            raise CustomerFileError(f"línea {reader.line_num}: hay más celdas que columnas")
        records.append(_coerce_csv(row, version, reg))
    return records


def _read_jsonl(path: Path, version: int) -> list[dict]:
    records = []
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CustomerFileError(f"línea {number}: JSON inválido ({exc.msg})") from exc
        if isinstance(record, dict) and "schema_version" in record:
            declared = record.pop("schema_version")
            if declared != version:
                raise CustomerFileError(f"línea {number}: schema_version={declared!r} no "
                                        f"coincide con la v{version} del nombre del fichero")
        records.append(record)
    return records


def _read_avro(path: Path, reg: SchemaRegistry) -> CustomerFile:
    if not path.read_bytes():
        raise CustomerFileError("fichero vacío: no hay cabecera Avro")
    with path.open("rb") as fo:
        try:
            reader = fastavro.reader(fo)
        except (ValueError, fastavro.read.SchemaResolutionError, EOFError) as exc:
            raise CustomerFileError(f"no es un contenedor Avro válido: {exc}") from exc
        writer_schema = reader.writer_schema
        form = to_parsing_canonical_form(writer_schema)
        for number in reg.versions:
            if to_parsing_canonical_form(reg.get(number).schema.parsed) == form:
                return CustomerFile(path, number, list(reader), "contenedor Avro")
    latest = reg.get(reg.latest).schema
    writer = parse(writer_schema, "esquema del fichero")
    problems = incompatibilities(latest, writer)
    if problems:
        raise CustomerFileError("esquema desconocido e incompatible con v"
                                f"{reg.latest}: " + "; ".join(p.reason for p in problems))
    with path.open("rb") as fo:
        records = list(fastavro.reader(fo, reader_schema=latest.parsed))
    return CustomerFile(path, reg.latest, records,
                        f"contenedor Avro con esquema desconocido, leído como v{reg.latest} "
                        "por resolución de esquemas")


def read_customer_file(path: Path, reg: SchemaRegistry | None = None) -> CustomerFile:
    """Read one landing file and tell which schema version its records are in.

    Args:
        path: the landing file.
        reg: registry (default: the packaged one).

    Raises:
        CustomerFileError: unknown name/extension/version, empty, not UTF-8, bad JSON/Avro,
            or an Avro schema the current version cannot read.
    """
    reg = reg or registry()
    path = Path(path)
    if path.suffix == ".avro":
        return _read_avro(path, reg)
    version = _version_from_name(path, reg)
    if path.suffix == ".csv":
        return CustomerFile(path, version, _read_csv(path, version, reg), "CSV")
    return CustomerFile(path, version, _read_jsonl(path, version), "JSON Lines")
