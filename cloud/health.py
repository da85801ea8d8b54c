"""``/healthz`` (process alive), ``/readyz`` (databases reachable), ``/metrics``, status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cloud.metrics import render
from cloud.timeseries.writer import InfluxWriter

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, bool]:
    """The process answers."""
    return {"ok": True}


async def _status(request: Request) -> tuple[bool, dict[str, Any]]:
    ok = True
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        database: dict[str, Any] = {"up": True}
    except (SQLAlchemyError, OSError) as exc:
        ok = False
        database = {"up": False, "error": exc.__class__.__name__}
    writer: InfluxWriter | None = request.app.state.influx
    if writer is None:
        return False, {"database": database, "influx": {"up": False, "error": "starting"}}
    influx = writer.status()
    # InfluxDB down is survivable while the buffer has room; a full buffer is not.
    if not influx["up"] and influx["buffered_lines"] >= influx["buffer_max_lines"]:
        ok = False
    return ok, {"database": database, "influx": influx}


@router.get("/readyz")
async def readyz(request: Request, response: Response) -> dict[str, Any]:
    """200 when the relational database answers and time series can be taken; 503 otherwise."""
    ok, body = await _status(request)
    response.status_code = 200 if ok else 503
    return {"ready": ok, **body}


@router.get("/api/v1/status")
async def service_status(request: Request) -> dict[str, Any]:
    """Storage state, including how far InfluxDB writes are behind (``influx.lag_s``)."""
    ok, body = await _status(request)
    return {"ready": ok, **body}


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus exposition."""
    body, content_type = render()
    return Response(body, media_type=content_type)
