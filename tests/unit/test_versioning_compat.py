"""Compatibility checker vs the Schema Registry rules AND vs fastavro actually resolving data."""

from __future__ import annotations

import io
import random

import fastavro
import pytest
from fastavro.utils import generate_many
from opsbook.pipeline.avro_compat import (
    MODES,
    SchemaFileError,
    can_read,
    check,
    load_schema_file,
    parse,
)

pytestmark = pytest.mark.unit


def rec(*fields, name="Cliente"):
    return {"type": "record", "name": name, "namespace": "t", "fields": list(fields)}


def f(name, type_, **extra):
    return {"name": name, "type": type_, **extra}


ID = f("id", "long")
NAME = f("name", "string")

# (case, old schema, new schema, expected verdict per mode per Schema Registry rules)
# B = BACKWARD (new reads old), F = FORWARD (old reads new), FULL = both.
PAIRS = [
    ("añadir campo con default", rec(ID), rec(ID, f("email", ["null", "string"], default=None)),
     {"B": True, "F": True}),
    ("añadir campo obligatorio", rec(ID), rec(ID, NAME), {"B": False, "F": True}),
    ("quitar campo con default", rec(ID, f("email", ["null", "string"], default=None)), rec(ID),
     {"B": True, "F": True}),
    ("quitar campo obligatorio", rec(ID, NAME), rec(ID), {"B": True, "F": False}),
    ("promoción int→long", rec(f("id", "int")), rec(ID), {"B": True, "F": False}),
    ("estrechar long→int", rec(ID), rec(f("id", "int")), {"B": False, "F": True}),
    ("promoción float→double", rec(f("x", "float")), rec(f("x", "double")),
     {"B": True, "F": False}),
    ("int→double", rec(f("x", "int")), rec(f("x", "double")), {"B": True, "F": False}),
    ("string↔bytes", rec(f("x", "string")), rec(f("x", "bytes")), {"B": True, "F": True}),
    ("cambio a tipo no promocionable", rec(f("x", "string")), rec(f("x", "long")),
     {"B": False, "F": False}),
    ("renombrar sin alias", rec(ID, NAME), rec(ID, f("full_name", "string")),
     {"B": False, "F": False}),
    ("renombrar con alias", rec(ID, NAME), rec(ID, f("full_name", "string", aliases=["name"])),
     {"B": True, "F": False}),
    ("hacer opcional (unión con null)", rec(NAME), rec(f("name", ["null", "string"])),
     {"B": True, "F": False}),
    ("ampliar unión", rec(f("x", ["null", "int"])), rec(f("x", ["null", "int", "string"])),
     {"B": True, "F": False}),
    ("enum con símbolo nuevo", rec(f("e", {"type": "enum", "name": "E", "symbols": ["A", "B"]})),
     rec(f("e", {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]})),
     {"B": True, "F": False}),
    ("enum con símbolo nuevo y default",
     rec(f("e", {"type": "enum", "name": "E", "symbols": ["A", "B"], "default": "A"})),
     rec(f("e", {"type": "enum", "name": "E", "symbols": ["A", "B", "C"], "default": "A"})),
     {"B": True, "F": True}),
    ("array con promoción de items", rec(f("xs", {"type": "array", "items": "int"})),
     rec(f("xs", {"type": "array", "items": "long"})), {"B": True, "F": False}),
    ("map con valores incompatibles", rec(f("m", {"type": "map", "values": "string"})),
     rec(f("m", {"type": "map", "values": "long"})), {"B": False, "F": False}),
    ("fixed de otro tamaño", rec(f("h", {"type": "fixed", "name": "H", "size": 4})),
     rec(f("h", {"type": "fixed", "name": "H", "size": 8})), {"B": False, "F": False}),
    ("registro renombrado", rec(ID), rec(ID, name="Customer"), {"B": False, "F": False}),
    ("registro renombrado con alias", rec(ID), {**rec(ID, name="Customer"), "aliases": ["Cliente"]},
     {"B": True, "F": False}),
    ("subregistro con campo nuevo obligatorio",
     rec(f("dir", rec(f("calle", "string"), name="Dir"))),
     rec(f("dir", rec(f("calle", "string"), f("cp", "string"), name="Dir"))),
     {"B": False, "F": True}),
]


def fastavro_reads(reader_raw, writer_raw, samples=40) -> bool:
    """Ground truth: write random records with the writer schema, read them with the reader.

    Random ``bytes`` are rarely valid UTF-8, so a UnicodeDecodeError during the bytes→string
    promotion (legal in Avro) is a property of the sample, not of the schemas: it is skipped
    (test_bytes_to_string_needs_utf8_data shows the data side).
    """
    reader = fastavro.parse_schema(reader_raw, named_schemas={})
    writer = fastavro.parse_schema(writer_raw, named_schemas={})
    random.seed(1234)
    for record in generate_many(writer, samples):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, writer, record)
        buf.seek(0)
        try:
            fastavro.schemaless_reader(buf, writer, reader)
        except UnicodeDecodeError:
            continue
        except Exception:  # any resolution failure means "cannot read"
            return False
    return True


@pytest.mark.parametrize("case,old,new,expected", PAIRS, ids=[p[0] for p in PAIRS])
def test_pairwise_modes_match_rules_and_fastavro(case, old, new, expected):
    o, n = parse(old, "anterior"), parse(new, "nueva")
    truth_b, truth_f = fastavro_reads(new, old), fastavro_reads(old, new)
    assert (truth_b, truth_f) == (expected["B"], expected["F"]), f"tabla mal escrita: {case}"
    verdicts = {mode: check(mode, n, [o]).compatible for mode in MODES}
    assert verdicts["BACKWARD"] == verdicts["BACKWARD_TRANSITIVE"] == truth_b
    assert verdicts["FORWARD"] == verdicts["FORWARD_TRANSITIVE"] == truth_f
    assert verdicts["FULL"] == verdicts["FULL_TRANSITIVE"] == (truth_b and truth_f)
    assert verdicts["NONE"] is True
    for mode in MODES:
        report = check(mode, n, [o])
        if not report.compatible:
            assert all(inc.reason and inc.path for inc in report.incompatibilities)


# Three-version chains where only the transitive modes see the problem (previous newest first).
V1 = rec(f("a", "long"))
V2 = rec(f("a", "long"), f("b", "string", default="x"))
V3 = rec(f("a", "long"), f("b", "string"))
W1 = rec(f("a", "long"), f("b", "string"))
W2 = rec(f("a", "long"), f("b", "string", default="x"))
W3 = rec(f("a", "long"))


@pytest.mark.parametrize("chain,mode,expected", [
    ((V3, V2, V1), "BACKWARD", True),
    ((V3, V2, V1), "BACKWARD_TRANSITIVE", False),
    ((V3, V2, V1), "FORWARD_TRANSITIVE", True),
    ((W3, W2, W1), "FORWARD", True),
    ((W3, W2, W1), "FORWARD_TRANSITIVE", False),
    ((W3, W2, W1), "BACKWARD_TRANSITIVE", True),
    ((W3, W2, W1), "FULL", True),
    ((W3, W2, W1), "FULL_TRANSITIVE", False),
    ((V3, V2, V1), "NONE", True),
])
def test_transitive_modes_look_at_every_previous_version(chain, mode, expected):
    new, *previous = chain
    report = check(mode, parse(new, "nueva"), [parse(s, f"v{i}") for i, s in enumerate(previous)])
    backward, forward, transitive = MODES[mode]
    olds = previous if transitive else previous[:1]
    truth = mode == "NONE" or all(
        (not backward or fastavro_reads(new, old)) and (not forward or fastavro_reads(old, new))
        for old in olds)
    assert report.compatible == truth == expected


def test_customer_chain_is_full_transitive_and_v4_is_rejected_with_reason(tmp_path):
    from opsbook.pipeline.schema_registry import registry

    reg = registry()
    v1, v2, v3 = (reg.get(n).schema for n in (1, 2, 3))
    assert check("FULL_TRANSITIVE", v3, [v2, v1]).compatible
    v4 = reg.proposal()
    report = check("BACKWARD", v4, [v3])
    assert not report.compatible
    assert any("full_name" in i.path and "valor por defecto" in i.reason
               for i in report.incompatibilities)
    assert not fastavro_reads(v4.raw, v3.raw)
    from opsbook.pipeline.versioning import aliased_proposal

    fixed = aliased_proposal()
    assert check("BACKWARD_TRANSITIVE", fixed, [v3, v2, v1]).compatible
    assert fastavro_reads(fixed.raw, v3.raw) and fastavro_reads(fixed.raw, v1.raw)
    assert not check("FORWARD", fixed, [v3]).compatible and not fastavro_reads(v3.raw, fixed.raw)
    for reader in (v1, v2, v3):
        for writer in (v1, v2, v3):
            assert can_read(reader, writer) == fastavro_reads(reader.raw, writer.raw)


@pytest.mark.parametrize("content,expected", [
    (b"", "vacío"),
    (b"\xff\xfe{}", "UTF-8"),
    (b'{"type": "record", "name": "X", "fields": [', "JSON inválido en línea 1"),
    (b'{"type": "record", "name": "X", "fields": [{"name": "a", "type": "entero"}]}',
     "esquema Avro inválido"),
])
def test_malformed_schema_files_raise_clear_errors(tmp_path, content, expected):
    path = tmp_path / "malo.avsc"
    path.write_bytes(content)
    with pytest.raises(SchemaFileError, match=expected):
        load_schema_file(path)


def test_unknown_mode_is_refused():
    s = parse(V1)
    with pytest.raises(ValueError, match="modo 'SIDEWAYS' desconocido"):
        check("SIDEWAYS", s, [s])


def test_bytes_to_string_needs_utf8_data():
    writer = fastavro.parse_schema(rec(f("x", "bytes")), named_schemas={})
    reader = fastavro.parse_schema(rec(f("x", "string")), named_schemas={})
    for payload, ok in ((b"hola", True), (b"\xff\xfe", False)):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, writer, {"x": payload})
        buf.seek(0)
        try:
            fastavro.schemaless_reader(buf, writer, reader)
            read = True
        except UnicodeDecodeError:
            read = False
        assert read is ok
