"""The console: pages under ``/console``, JSON under ``/api/v1/console``, SSE at ``.../events``.

Every API route needs an admin, dispatcher or supervisor token; a worker gets 403.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

import httpx
from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from cloud.console import export, geo, live, pages, reports, residents, series, tasks
from cloud.console.access import ViewerDep
from cloud.console.events import LiveHub, dispatch_config, stream
from cloud.console.export import Section
from cloud.console.schemas import (
    Candidates,
    Live,
    MapData,
    Me,
    Report,
    ResidentDetail,
    Series,
    TaskDetail,
)
from cloud.db import SessionDep, utcnow
from cloud.dispatch.config import DispatchConfig
from cloud.privacy.access_log import Read, record_reads
from cloud.timeseries.writer import InfluxError, InfluxWriter

api = APIRouter(prefix="/api/v1/console", tags=["console"])

ALARM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"  # protocol's Identifier
Days = Annotated[int, Query(ge=1, le=366, description="Report period: the last N days.")]
RangeKey = Literal["6h", "24h", "7d", "30d"]


def _config(request: Request) -> DispatchConfig:
    return dispatch_config(request.app)


def _targets(request: Request) -> live.Targets:
    return live.Targets.from_config(_config(request))


def _influx(request: Request) -> InfluxWriter | None:
    return getattr(request.app.state, "influx", None)


@api.get("/me", response_model=Me)
async def me(viewer: ViewerDep) -> Me:
    """The signed-in operator and whether phone numbers are shown in clear."""
    return Me(username=viewer.username, roles=[viewer.role], phones_in_clear=viewer.clear)


@api.get("/live", response_model=Live)
async def live_view(_: ViewerDep, request: Request, session: SessionDep) -> Live:
    """Open alarms and tasks with their clocks."""
    return await live.snapshot(session, _targets(request))


@api.get("/tasks/{number}", response_model=TaskDetail)
async def task_view(
    viewer: ViewerDep,
    session: SessionDep,
    number: Annotated[str, Path(pattern=tasks.NUMBER_PATTERN, description="e.g. T20261122-0042")],
) -> TaskDetail:
    """A task's summary, timeline and verified audit trail."""
    return await tasks.task_detail(session, viewer, number)


@api.get("/map", response_model=MapData)
async def map_view(
    _: ViewerDep,
    request: Request,
    session: SessionDep,
    district: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f]*$")] = None,
) -> MapData:
    """Households, workers and open alarms to draw (of one district if given)."""
    return await geo.map_data(session, _targets(request), district)


@api.get("/alarms/{alarm_id}/candidates", response_model=Candidates)
async def alarm_candidates(
    _: ViewerDep,
    request: Request,
    session: SessionDep,
    alarm_id: Annotated[str, Path(max_length=128, pattern=ALARM_ID_PATTERN)],
) -> Candidates:
    """Workers offered the alarm's task and those dispatch would pick now."""
    return await geo.candidates(session, request.app.state, _config(request), alarm_id)


@api.get("/residents/{resident_id}", response_model=ResidentDetail)
async def resident_view(
    viewer: ViewerDep,
    request: Request,
    session: SessionDep,
    resident_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> ResidentDetail:
    """The resident page, each field as the privacy policy shows it to the role."""
    return await residents.resident_detail(session, viewer, _influx(request), resident_id, utcnow())


@api.get("/residents/{resident_id}/series", response_model=Series)
async def resident_series(
    viewer: ViewerDep,
    request: Request,
    session: SessionDep,
    resident_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    range_key: Annotated[RangeKey, Query(alias="range")] = "24h",
) -> Series:
    """Vitals and activity of the resident's home, downsampled for the range."""
    _person, home = await residents.resident_or_404(session, resident_id)
    read = Read("household", home.id, viewer.audience, ("vitals", "activity"))
    record_reads(session, viewer.user, "GET /api/v1/console/residents/{id}/series", [read])
    await session.commit()
    influx = _influx(request)
    if influx is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "influx: not started")
    try:
        return await series.household_series(influx, home.id, range_key, utcnow())
    except (InfluxError, httpx.HTTPError) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"influx: {exc}") from exc


@api.get("/reports", response_model=Report)
async def report_view(
    _: ViewerDep, request: Request, session: SessionDep, days: Days = 30
) -> Report:
    """Response times, false-alarm rates, devices needing an installer."""
    return await reports.build_report(
        session, _influx(request), _targets(request).response_s, days, utcnow()
    )


@api.get("/reports.csv", response_class=Response)
async def report_csv(
    _: ViewerDep, request: Request, session: SessionDep, section: Section, days: Days = 30
) -> Response:
    """One report section as CSV."""
    now = utcnow()
    start = now - timedelta(days=days)
    if section is Section.RESPONSES:
        text = export.responses_csv(await reports.response_rows(session, start, now), now)
    elif section is Section.FALSE_ALARMS:
        text = export.false_alarms_csv(await reports.false_alarm_rates(session, start, now))
    else:
        text = export.devices_csv(await reports.device_health(session, _influx(request), now))
    name = f"carewatch-{section.value}-{days}d.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@api.get("/events", response_class=StreamingResponse)
async def events(_: ViewerDep, request: Request, session: SessionDep) -> StreamingResponse:
    """Server-sent events: ``live`` with the snapshot of ``/live``, on every change."""
    # The token check's session would otherwise stay open (and, on SQLite, hold the write
    # lock) for as long as the stream lasts.
    await session.close()
    hub: LiveHub = request.app.state.console_hub
    return StreamingResponse(
        stream(hub),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


router = APIRouter()
router.include_router(pages.router)
router.include_router(api)
