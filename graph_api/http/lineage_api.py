"""The OpenLineage HTTP API, on Marquez's path so a stock openlineage-python HttpTransport works unchanged.

    POST /api/v1/lineage               a RunEvent; 201 on success, 4xx with a code naming what failed
    GET  /api/v1/lineage/runs/{runId}  a run as a RunEvent (runId: ours, run_..., or the OpenLineage UUID)
"""
from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from graph_api.http.auth import request_principal
from graph_api.http.errors import HTTPError
from graph_api.lake.access import access_for
from graph_api.lake.lineage_view import LineageView
from graph_api.lake.tokens import NOBODY
from graph_api.threads import run_sync
from lineage.openlineage import run_to_event

log = logging.getLogger("graph_api.http.lineage_api")
MAX_EVENT_BYTES = 5 * 1024 * 1024


def _error(exc: HTTPError) -> JSONResponse:
    return JSONResponse({"error": {"code": exc.code, "message": exc.message, **exc.details}},
                        status_code=exc.status, headers=exc.headers)


def _unavailable() -> JSONResponse:
    return _error(HTTPError("lineage is not attached to this lake", 503, "UNAVAILABLE"))


def _lineage(request: Request) -> LineageView | None:
    """The lineage as the caller sees it: a run or dataset it may not see is unknown to it (404)."""
    lineage = request.app.state.services.lineage
    if lineage is None:
        return None
    # the auth middleware found the caller (LOCAL with auth off); without one, fail closed: no restricted title
    principal = request_principal(request.scope) or NOBODY
    return LineageView(lineage, lineage.lake.with_access(access_for(principal)))


async def post_event(request: Request) -> JSONResponse:
    lineage = _lineage(request)
    if lineage is None:
        return _unavailable()
    body = await request.body()
    if len(body) > MAX_EVENT_BYTES:
        return _error(HTTPError(f"event of {len(body)} bytes exceeds {MAX_EVENT_BYTES}", 400, "INVALID_EVENT"))
    try:
        payload = json.loads(body)
    except ValueError as exc:
        return _error(HTTPError(f"the body is not JSON: {exc}", 400, "INVALID_EVENT"))
    try:
        await run_sync(lineage.refresh)
        run = await run_sync(lineage.ingest_event, payload)
    except Exception as exc:  # noqa: BLE001 - coded errors become 4xx; the rest is logged, never shown
        coded = HTTPError.from_coded(exc)
        if coded is not None:
            return _error(coded)
        log.exception("OpenLineage event failed")
        return JSONResponse({"error": {"code": "INTERNAL", "message": "internal error: see the server log"}},
                            status_code=500)
    return JSONResponse({"runId": run.id, "status": run.status}, status_code=201)


async def get_run(request: Request) -> JSONResponse:
    lineage = _lineage(request)
    if lineage is None:
        return _unavailable()
    run_id = request.path_params["run_id"]
    await run_sync(lineage.refresh)
    run = lineage.get_run(run_id) or lineage.run_for_external_id(run_id)
    if run is None:
        return _error(HTTPError(f"unknown run {run_id}", 404, "NOT_FOUND"))
    ids = [ref.asset_id for ref in run.inputs] + [o for o in run.outputs if o.startswith("asset_")]
    assets = await run_sync(lineage.lake.assets.get_many, ids)
    event = run_to_event(run, lineage.job(run.namespace, run.job_name),
                         [assets[r.asset_id]["uri"] for r in run.inputs if r.asset_id in assets],
                         [assets[o]["uri"] for o in run.outputs if o in assets])
    return JSONResponse(event)


def routes() -> list[Route]:
    return [
        Route("/api/v1/lineage", post_event, methods=["POST"]),
        Route("/api/v1/lineage/runs/{run_id}", get_run, methods=["GET"]),
    ]
