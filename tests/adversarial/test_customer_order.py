"""Customer files arriving out of order: an old record re-sent later never overwrites a newer one.

The upstream re-sends yesterday's customer file after today's (a retry, a replayed folder).
The upsert keeps, per id, the record with the latest ``updated_at`` (``created_at`` when the
version has no ``updated_at``), whatever order the dates are loaded in.
"""

from __future__ import annotations

import dataclasses

import pytest
from opsbook.pipeline import customers
from opsbook.pipeline.customer_files import write_customer_file

pytestmark = pytest.mark.unit


@pytest.fixture
def var(tmp_path, monkeypatch):
    monkeypatch.setattr(customers, "settings",
                        dataclasses.replace(customers.settings, var=tmp_path, warehouse_url=None))
    return tmp_path


def _v2(id_: int, name: str, updated: str | None) -> dict:
    return {"id": id_, "name": name, "created_at": "2026-01-01T00:00:00Z",
            "email": None, "updated_at": updated}


def _names() -> dict[int, str]:
    return dict(customers.query("SELECT id, name FROM clientes ORDER BY id"))


def test_an_older_file_loaded_after_a_newer_one_does_not_overwrite(var):
    write_customer_file(customers.landing_folder("2026-03-02"),
                        [_v2(1, "Nueva", "2026-03-02T09:00:00Z"),
                         _v2(2, "Solo hoy", "2026-03-02T09:00:00Z")], 2, "jsonl")
    write_customer_file(customers.landing_folder("2026-03-01"),
                        [_v2(1, "Vieja", "2026-03-01T09:00:00Z"),
                         _v2(3, "Solo ayer", "2026-03-01T09:00:00Z")], 2, "jsonl")
    customers.load_customers("2026-03-02")
    customers.load_customers("2026-03-01")  # the late, older file
    assert _names() == {1: "Nueva", 2: "Solo hoy", 3: "Solo ayer"}
    customers.load_customers("2026-03-02")  # re-running the newer date is still idempotent
    assert _names() == {1: "Nueva", 2: "Solo hoy", 3: "Solo ayer"}


def test_a_newer_record_replaces_an_older_one_and_v1_uses_created_at(var):
    write_customer_file(customers.landing_folder("2026-03-01"),
                        [{"id": 7, "name": "Alta v1", "created_at": "2026-02-01T00:00:00Z"}],
                        1, "csv")
    write_customer_file(customers.landing_folder("2026-03-02"),
                        [_v2(7, "Cambio v2", "2026-03-02T00:00:00Z")], 2, "jsonl")
    write_customer_file(customers.landing_folder("2026-03-03"),
                        [_v2(7, "Sin fecha", None)], 2, "jsonl")  # falls back to created_at
    customers.load_customers("2026-03-01")
    customers.load_customers("2026-03-02")
    assert _names() == {7: "Cambio v2"}
    customers.load_customers("2026-03-03")
    assert _names() == {7: "Cambio v2"}
