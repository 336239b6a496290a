"""The api-server's execution API, built for the Task SDK's own version only, serves that version
exactly as upstream does (same OpenAPI document: paths, parameters, models) and nothing older."""

from __future__ import annotations

import pytest
from fresh_interpreter import run_for_result

pytestmark = pytest.mark.unit

DUMP = """
import asyncio, json
import httpx
from airflow.api_fastapi.execution_api.app import create_task_execution_api_app
from airflow.sdk.api.datamodels._generated import API_VERSION
from opsbook.airflow import lean_execution_api

async def probe(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        doc = (await c.get("/openapi.json", params={"version": API_VERSION})).json()
        plain = (await c.get("/health")).status_code
        own = (await c.get("/health", headers={"Airflow-API-Version": API_VERSION})).status_code
        old = (await c.get("/health", headers={"Airflow-API-Version": "2025-04-11"})).status_code
    return {"version": API_VERSION, "openapi": doc,
            "status": {"plain": plain, "own": own, "old": old}}

built = {"upstream": asyncio.run(probe(create_task_execution_api_app()))}
installed = lean_execution_api.install()  # the app factory reads the bundle when called
built["lean"] = {**asyncio.run(probe(create_task_execution_api_app())), "installed": installed}
print("\\nRESULT " + json.dumps(built))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Upstream's execution API, then the lean one, built in one fresh interpreter."""
    return run_for_result(DUMP, tmp_path_factory.mktemp("execution_api"))


def test_serves_the_sdk_version_exactly_as_upstream(built):
    upstream, lean = built["upstream"], built["lean"]
    assert lean["installed"] is True
    assert len(upstream["openapi"]["paths"]) > 20  # the real API, not an empty document
    assert lean["openapi"] == upstream["openapi"]
    assert lean["openapi"]["info"]["version"] == lean["version"]
    assert lean["status"]["plain"] == lean["status"]["own"] == 200


def test_refuses_a_version_only_upstream_still_serves(built):
    assert built["upstream"]["status"]["old"] == 200
    assert built["lean"]["status"]["old"] == 404
