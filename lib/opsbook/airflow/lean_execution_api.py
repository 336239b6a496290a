"""The api-server's execution API built for the one Task SDK version the stack runs.

Why this module exists: the Task Execution API (``/execution``, what every task, the triggerer
and the dag-processor report through) is a Cadwyn app. On its first request Cadwyn builds a
copy of every route and every request/response model for each API version Airflow still
accepts: nine dated versions in Airflow 3.3, for Task SDK clients of older Airflow releases.
Measured on the course machine (2026-12-06, in process, no profiler): that first request took
4.3–5.0 s of CPU and the app kept ~39 MiB more (USS of the api-server process 219 → 180 MiB
without it). Every api-server start pays it before the stack counts as healthy: ``stack up``,
each blue-green deploy and the naive restart of day 4, each executor switch.

The stack installs one Airflow; its Task SDK speaks exactly one version
(``airflow.sdk.api.datamodels._generated.API_VERSION``, sent as the ``Airflow-API-Version``
header; a request without the header gets the newest version too). :func:`install` replaces
Airflow's version bundle with that version alone, identical to the head schemas, and drops the
routes Cadwyn keeps only for older versions (they would be deleted for the newest version
anyway). The routes and models served to the stack's clients are the same
(``tests/unit/test_lean_execution_api.py`` compares them with upstream's for that version). A
client of another Airflow release would be refused with Cadwyn's unknown-version error; none
runs here. If the installed Airflow does not match what this expects (the SDK's version is
not the newest of the bundle), nothing is changed. No setting of Airflow or Cadwyn limits the
versions served, hence these lines. Called by :mod:`opsbook.stack.quick_exit` for
``airflow api-server`` only, before uvicorn imports the app.
"""

from __future__ import annotations

import sys


def install() -> bool:
    """Serve only the Task SDK's own API version from the execution API of this process.

    Returns:
        True if the bundle was replaced; False (upstream untouched) if this Airflow's SDK
        version is not the newest version of its bundle.
    """
    from airflow.api_fastapi.execution_api import versions
    from airflow.api_fastapi.execution_api.routes import execution_api_router
    from airflow.sdk.api.datamodels._generated import API_VERSION
    from cadwyn import HeadVersion, Version, VersionBundle
    from cadwyn.route_generation import _DELETED_ROUTE_TAG
    from fastapi.routing import APIRoute

    newest = versions.bundle.versions[0].value
    if newest != API_VERSION:
        print(f"opsbook: la API de ejecución sirve todas sus versiones (el Task SDK habla "
              f"{API_VERSION}, la más nueva es {newest})", file=sys.stderr)
        return False
    versions.bundle = VersionBundle(HeadVersion(), Version(API_VERSION))
    execution_api_router.routes[:] = [
        route for route in execution_api_router.routes
        if not (isinstance(route, APIRoute) and _DELETED_ROUTE_TAG in route.tags)]
    return True
