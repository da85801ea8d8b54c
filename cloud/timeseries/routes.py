"""``/api/v1/households/{home_id}/vitals|activity``: downsampled series for charts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.db import SessionDep, utcnow
from cloud.privacy.access_log import Read, record_reads
from cloud.privacy.policy import role_audience
from cloud.schemas import QueryTime
from cloud.timeseries.points import ACTIVITY, VITALS
from cloud.timeseries.queries import INTERVALS, downsample, pick_interval
from cloud.timeseries.writer import InfluxError, InfluxWriter

router = APIRouter(prefix="/api/v1/households", tags=["time series"])

Reader = Annotated[User, Depends(require_roles(Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR))]
Interval = Literal["1m", "5m", "15m", "1h", "6h", "1d"]


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or utcnow()
    start = start or end - timedelta(hours=24)
    if start >= end:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "field": "start",
                    "loc": ["query", "start"],
                    "msg": "must be before end",
                    "type": "value_error",
                }
            ],
        )
    if (end - start).days > 366:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "field": "start",
                    "loc": ["query", "start"],
                    "msg": "range is longer than a year",
                    "type": "value_error",
                }
            ],
        )
    return start, end


async def _query(request: Request, **kwargs: Any) -> list[dict[str, Any]]:
    writer: InfluxWriter | None = request.app.state.influx
    if writer is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "service is starting")
    try:
        return await downsample(writer, **kwargs)
    except (InfluxError, OSError) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"time series unavailable: {exc}"
        ) from exc


@router.get("/{home_id}/vitals")
async def vitals(
    request: Request,
    home_id: str,
    user: Reader,
    session: SessionDep,
    metric: Literal[tuple(sorted(VITALS))] = "heart_rate",  # type: ignore[valid-type]
    start: QueryTime | None = None,
    end: QueryTime | None = None,
    interval: Interval | None = None,
) -> dict[str, Any]:
    """A resident's vital sign (per device) over ``start``..``end``, downsampled."""
    out = await _series(request, home_id, "vitals", metric, "device_id", start, end, interval)
    await _logged(session, user, home_id, "vitals")
    return out


@router.get("/{home_id}/activity")
async def activity(
    request: Request,
    home_id: str,
    user: Reader,
    session: SessionDep,
    metric: Literal[tuple(sorted(ACTIVITY))] = "motion",  # type: ignore[valid-type]
    start: QueryTime | None = None,
    end: QueryTime | None = None,
    interval: Interval | None = None,
) -> dict[str, Any]:
    """Activity (e.g. motion events per room) over ``start``..``end``, downsampled."""
    out = await _series(request, home_id, "activity", metric, "room", start, end, interval)
    await _logged(session, user, home_id, "activity")
    return out


async def _logged(session: AsyncSession, user: User, home_id: str, what: str) -> None:
    """A person read a home's series: into the access log."""
    read = Read("household", home_id, role_audience(user.role), (what,))
    record_reads(session, user, f"GET /api/v1/households/{{home_id}}/{what}", [read])
    await session.commit()


async def _series(
    request: Request,
    home_id: str,
    measurement: str,
    metric: str,
    by: str,
    start: AwareDatetime | None,
    end: AwareDatetime | None,
    interval: Interval | None,
) -> dict[str, Any]:
    """One metric of one home over a window, grouped by ``by``, at a chart-sized interval."""
    start, end = _window(start, end)
    step = interval or pick_interval(start, end)
    series = await _query(
        request,
        measurement=measurement,
        home_id=home_id,
        metric=metric,
        start=start,
        end=end,
        interval=step,
        by=by,
    )
    return {
        "home_id": home_id,
        "metric": metric,
        "interval": step,
        "interval_s": INTERVALS[step],
        "series": series,
    }
