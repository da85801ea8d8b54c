"""Writing the access log, and ``GET /api/v1/access-log`` (admins only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.db import SessionDep, utcnow
from cloud.privacy.models import AccessLogEntry
from cloud.privacy.policy import LOGGED_RECORDS, Audience, seen_fields
from cloud.schemas import Public, QueryTime


@dataclass(frozen=True, slots=True)
class Read:
    """One record shown to a person: its type, id, the audience and the columns shown."""

    record_type: str
    record_id: str
    audience: Audience
    columns: tuple[str, ...]


def record_reads(
    session: AsyncSession, user: User, via: str, reads: Iterable[Read], now: datetime | None = None
) -> int:
    """Add one access-log row per read of a logged record; the caller commits."""
    at = now or utcnow()
    rows = []
    for r in reads:
        if r.record_type not in LOGGED_RECORDS:
            continue
        fields = seen_fields(r.audience, r.record_type, list(r.columns))
        if not fields:
            continue
        rows.append(
            AccessLogEntry(
                at=at,
                user_id=user.id,
                username=user.username,
                role=user.role,
                audience=r.audience.value,
                record_type=r.record_type,
                record_id=str(r.record_id),
                fields=fields,
                via=via[:128],
            )
        )
    session.add_all(rows)
    return len(rows)


class AccessLogPublic(Public):
    """One access-log entry."""

    id: int
    at: datetime
    user_id: int
    username: str
    role: str
    audience: str
    record_type: str
    record_id: str
    fields: dict[str, str]
    via: str


router = APIRouter(prefix="/api/v1", tags=["privacy"])
Admin = Annotated[User, Depends(require_roles(Role.ADMIN))]
Text = Annotated[str | None, Query(max_length=128, pattern=r"^[^\x00-\x1f]*$")]


@router.get("/access-log", response_model=list[AccessLogPublic])
async def access_log(
    session: SessionDep,
    _: Admin,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    username: Text = None,
    record_type: Annotated[str | None, Query(pattern=r"^(resident|household|contact)$")] = None,
    record_id: Text = None,
    since: Annotated[QueryTime | None, Query()] = None,
    until: Annotated[QueryTime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AccessLogEntry]:
    """Who read which resident's record, newest first, filtered by reader, record and time."""
    query = select(AccessLogEntry).order_by(AccessLogEntry.id.desc()).limit(limit).offset(offset)
    if user_id is not None:
        query = query.where(AccessLogEntry.user_id == user_id)
    if username is not None:
        query = query.where(AccessLogEntry.username == username)
    if record_type is not None:
        query = query.where(AccessLogEntry.record_type == record_type)
    if record_id is not None:
        query = query.where(AccessLogEntry.record_id == record_id)
    if since is not None:
        query = query.where(AccessLogEntry.at >= since)
    if until is not None:
        query = query.where(AccessLogEntry.at < until)
    return list(await session.scalars(query))
