"""The OpenLineage HTTP API, on Marquez's path so a stock openlineage-python HttpTransport works unchanged.

    POST /api/v1/lineage               a RunEvent; 201 on success, 4xx with a code naming what failed
    GET  /api/v1/lineage/runs/{runId}  a run as a RunEvent (runId: ours, run_..., or the OpenLineage UUID)
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lineage.openlineage import run_to_event

log = logging.getLogger("graph_api.lineage_api")
STATUS_BY_CODE = {"NOT_FOUND": 404, "CONFLICT": 409, "CYCLE": 409, "INVALID_EVENT": 400, "INVALID_ARGUMENT": 400,
                  "UNAVAILABLE": 503}
MAX_EVENT_BYTES = 5 * 1024 * 1024


def _error(code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}},
                        status_code=STATUS_BY_CODE.get(code, 400))


def _lineage(request: Request) -> Any:
    return request.app.state.services.lineage


async def post_event(request: Request) -> JSONResponse:
    lineage = _lineage(request)
    if lineage is None:
        return _error("UNAVAILABLE", "lineage is not attached to this lake")
    body = await request.body()
    if len(body) > MAX_EVENT_BYTES:
        return _error("INVALID_EVENT", f"event of {len(body)} bytes exceeds {MAX_EVENT_BYTES}")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        return _error("INVALID_EVENT", f"the body is not JSON: {exc}")
    try:
        await asyncio.to_thread(lineage.refresh)
        run = await asyncio.to_thread(lineage.ingest_event, payload)
    except Exception as exc:  # noqa: BLE001 - coded errors become 4xx; the rest is logged, never shown
        code = getattr(exc, "code", None)
        if isinstance(code, str):
            return _error(code, getattr(exc, "message", str(exc)), **({"path": exc.path} if hasattr(exc, "path") else {}))
        log.exception("OpenLineage event failed")
        return JSONResponse({"error": {"code": "INTERNAL", "message": "internal error: see the server log"}},
                            status_code=500)
    return JSONResponse({"runId": run.id, "status": run.status}, status_code=201)


async def get_run(request: Request) -> JSONResponse:
    lineage = _lineage(request)
    if lineage is None:
        return _error("UNAVAILABLE", "lineage is not attached to this lake")
    run_id = request.path_params["run_id"]
    await asyncio.to_thread(lineage.refresh)
    run = lineage.get_run(run_id) or lineage.run_for_external_id(run_id)
    if run is None:
        return _error("NOT_FOUND", f"unknown run {run_id}")
    ids = [ref.asset_id for ref in run.inputs] + [o for o in run.outputs if o.startswith("asset_")]
    assets = await asyncio.to_thread(lineage.lake.assets.get_many, ids)
    event = run_to_event(run, lineage.job(run.namespace, run.job_name),
                         [assets[r.asset_id]["uri"] for r in run.inputs if r.asset_id in assets],
                         [assets[o]["uri"] for o in run.outputs if o in assets])
    return JSONResponse(event)


def routes() -> list[Route]:
    return [
        Route("/api/v1/lineage", post_event, methods=["POST"]),
        Route("/api/v1/lineage/runs/{run_id}", get_run, methods=["GET"]),
    ]
