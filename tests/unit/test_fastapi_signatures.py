"""FastAPI's signature analysis, memoized for the api-server (opsbook.airflow.fastapi_signatures):
the same app as without it (Airflow's whole app, both OpenAPI documents), and a memo that never
serves a signature for another object or for a changed one."""

from __future__ import annotations

import inspect
import os

import pytest
from fresh_interpreter import run_for_result
from opsbook.airflow import fastapi_signatures

pytestmark = pytest.mark.unit

DUMP = """
import asyncio, json, os
import httpx
from airflow.sdk.api.datamodels._generated import API_VERSION
from opsbook.airflow import fastapi_signatures, lean_execution_api

lean_execution_api.install()

async def probe(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        core = (await c.get("/openapi.json")).json()
        execution = (await c.get("/execution/openapi.json", params={"version": API_VERSION})).json()
        health = (await c.get("/execution/health")).status_code
    routes = sorted((getattr(r, "path", ""), sorted(getattr(r, "methods", None) or []))
                    for r in app.routes)
    return {"core": core, "execution": execution, "health": health, "routes": routes}

from airflow.api_fastapi import app as app_module
built = {"upstream": asyncio.run(probe(app_module.create_app("all")))}
app_module.purge_cached_app()
built["installed"] = fastapi_signatures.install()
built["memoized"] = asyncio.run(probe(app_module.create_app("all")))
from fastapi.dependencies import utils
built["distinct"] = len(utils.get_typed_signature.memo)
print("\\nRESULT " + json.dumps(built))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Airflow's whole app built twice in one fresh interpreter: upstream, then memoized."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                "PYTHONWARNINGS": "ignore"})
    return run_for_result(DUMP, home, env)


def test_the_memoized_app_is_the_same_app(built):
    upstream, memoized = built["upstream"], built["memoized"]
    assert built["installed"] is True
    assert len(upstream["core"]["paths"]) > 50  # the real public API (the UI routes are hidden)
    assert len(upstream["execution"]["paths"]) > 20
    assert memoized["core"] == upstream["core"]
    assert memoized["execution"] == upstream["execution"]
    assert memoized["routes"] == upstream["routes"]
    assert memoized["health"] == upstream["health"] == 200
    assert built["distinct"] > 100  # it really served the build


def _analysed(monkeypatch):
    """A memoized ``get_typed_signature`` that counts the calls reaching the original."""
    from fastapi.dependencies import utils

    calls: list = []

    def original(call):
        calls.append(call)
        return utils.get_typed_signature(call)

    return fastapi_signatures.memoized(original), calls


def test_the_same_object_is_analysed_once(monkeypatch):
    cached, calls = _analysed(monkeypatch)

    def endpoint(a: int, b: str = "x"):
        return a

    first = cached(endpoint)
    assert cached(endpoint) is first and calls == [endpoint]
    assert list(first.parameters) == ["a", "b"] and first.parameters["a"].annotation is int


def test_a_changed_signature_annotation_or_default_is_analysed_again(monkeypatch):
    cached, calls = _analysed(monkeypatch)

    def endpoint(a: int, b: str = "x"):
        return a

    cached(endpoint)
    endpoint.__signature__ = inspect.Signature(  # what Cadwyn does to functions it adapts
        [inspect.Parameter("z", inspect.Parameter.KEYWORD_ONLY, annotation=float)])
    assert list(cached(endpoint).parameters) == ["z"]
    del endpoint.__signature__
    endpoint.__annotations__["a"] = float
    assert cached(endpoint).parameters["a"].annotation is float
    endpoint.__defaults__ = ("y",)
    assert cached(endpoint).parameters["b"].default == "y"
    assert len(calls) == 4


def test_distinct_objects_of_one_class_are_analysed_each(monkeypatch):
    cached, calls = _analysed(monkeypatch)

    class Dep:
        def __init__(self, kind):
            self.kind = kind

        def __call__(self, q: int):
            return q

    one, two = Dep(1), Dep(2)
    cached(one)
    cached(two)
    cached(one)
    assert calls == [one, two]


def test_install_is_idempotent_and_undone():
    from fastapi.dependencies import utils

    upstream = utils.get_typed_signature
    try:
        assert fastapi_signatures.install() is True
        assert fastapi_signatures.install() is False
        assert utils.get_typed_signature is not upstream
    finally:
        fastapi_signatures.uninstall()
    assert utils.get_typed_signature is upstream
