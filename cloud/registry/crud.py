"""One factory for the registry's list / get / create / update / delete endpoints.

No ``from __future__ import annotations`` here: FastAPI reads the per-resource body
types from the annotations of the closures at definition time.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cloud.auth.deps import Role, require_roles
from cloud.auth.models import User
from cloud.db import Base, SessionDep
from cloud.privacy.access_log import Read, record_reads
from cloud.privacy.policy import Audience, render_record, role_audience
from cloud.privacy.scope import worker_households
from cloud.schemas import Public, Strict


@dataclass(frozen=True)
class Resource:
    """How one table is exposed under ``/api/v1/<path>``."""

    path: str
    model: type[Base]
    create: type[Strict]
    update: type[Strict]
    public: type[Public]
    read_roles: Sequence[Role]
    write_roles: Sequence[Role]
    id_type: type[int] | type[str] = int
    refs: dict[str, type[Base]] = field(default_factory=dict)  # body field -> referenced table
    filters: Sequence[str] = ()  # query parameters that filter the list by equality
    record: str = ""  # the record's name in the privacy policy (cloud.privacy.policy)
    household_key: str | None = None  # column naming the household (workers' scope)
    unique: Sequence[str] = ()  # fields whose duplicates give 409 naming them
    after_write: Callable[[Request, Any, Any], Awaitable[None]] | None = None
    # called before an update or delete is committed: (session, row, user, deleted)
    on_change: Callable[[Any, Any, User, bool], Awaitable[None]] | None = None


class Viewer:
    """What one request may see of ``res``: every row (operators) or a worker's households."""

    def __init__(self, res: Resource, user: User, scope: dict[str, Audience] | None) -> None:
        self.res, self.user, self.scope = res, user, scope

    def audience(self, row: Base) -> Audience | None:
        """How this reader sees ``row`` (``None``: not at all)."""
        if self.scope is None:
            return role_audience(self.user.role)
        key = self.res.household_key
        return self.scope.get(str(getattr(row, key))) if key else None

    def out(self, rows: Sequence[Base], session: Any, via: str) -> list[dict[str, Any]]:
        """The rows as the reader may see them, each read written to the access log."""
        shown, reads = [], []
        for row in rows:
            audience = self.audience(row)
            if audience is None:
                continue
            data = self.res.public.model_validate(row).model_dump(mode="json")
            shown.append(render_record(audience, self.res.record, data))
            pk = data[self.res.model.__mapper__.primary_key[0].name]
            reads.append(Read(self.res.record, str(pk), audience, tuple(data)))
        record_reads(session, self.user, via, reads)
        return shown


async def _viewer(res: Resource, user: User, session: Any) -> Viewer:
    if user.role != Role.WORKER:
        return Viewer(res, user, None)
    return Viewer(res, user, await worker_households(session, user))


async def _written(
    res: Resource, request: Request, row: Base, user: User, session: Any, via: str
) -> dict[str, Any]:
    """The record as written, shown (and access-logged) like a read; then ``after_write``."""
    out = Viewer(res, user, None).out([row], session, via)
    await session.commit()
    if res.after_write is not None:
        await res.after_write(request, session, row)
    return out[0]


async def _check_refs(res: Resource, session: Any, values: dict[str, Any]) -> None:
    for name, target in res.refs.items():
        value = values.get(name)
        if value is not None and await session.get(target, value) is None:
            raise _invalid(name, f"no such {target.__tablename__[:-1]} {value!r}")


def _invalid(name: str, msg: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"field": name, "loc": ["body", name], "msg": msg, "type": "value_error"}],
    )


def _conflict(res: Resource, exc: IntegrityError) -> HTTPException:
    text = str(exc.orig)
    named = next((f for f in res.unique if f in text), None) or "id"
    return HTTPException(status.HTTP_409_CONFLICT, f"{named}: already exists or is in use")


def crud_router(res: Resource) -> APIRouter:
    """The five endpoints of ``res``."""
    router = APIRouter(prefix=f"/api/v1/{res.path}", tags=[res.path])
    Reader = Annotated[User, Depends(require_roles(*res.read_roles))]
    Writer = Annotated[User, Depends(require_roles(*res.write_roles))]
    IdPath = (
        Annotated[int, Path(ge=1, le=2**31 - 1)]
        if res.id_type is int
        else Annotated[str, Path(max_length=128)]
    )
    Create = res.create
    Update = res.update
    pk = res.model.__mapper__.primary_key[0]

    async def _get(session: Any, item_id: Any) -> Base:
        row = await session.get(res.model, item_id)
        if row is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"id: no such {res.path[:-1]} {item_id!r}"
            )
        return row

    @router.get("", summary=f"List {res.path}")
    async def list_items(
        request: Request,
        user: Reader,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> list[dict[str, Any]]:
        viewer = await _viewer(res, user, session)
        stmt = select(res.model).order_by(pk).limit(limit).offset(offset)
        if viewer.scope is not None and res.household_key:
            column = getattr(res.model, res.household_key)
            stmt = stmt.where(column.in_(list(viewer.scope)))
        for name in res.filters:
            value = request.query_params.get(name)
            if value is not None:
                stmt = stmt.where(getattr(res.model, name) == value)
        rows = (await session.scalars(stmt)).all()
        out = viewer.out(rows, session, f"GET /api/v1/{res.path}")
        await session.commit()
        return out

    @router.get("/{item_id}", summary=f"Get one of {res.path}")
    async def get_item(
        item_id: IdPath,  # type: ignore[valid-type]
        user: Reader,
        session: SessionDep,
    ) -> dict[str, Any]:
        viewer = await _viewer(res, user, session)
        row = await _get(session, item_id)
        out = viewer.out([row], session, f"GET /api/v1/{res.path}/{{id}}")
        if not out:  # not one of the worker's households: as if it did not exist
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"id: no such {res.path[:-1]} {item_id!r}"
            )
        await session.commit()
        return out[0]

    @router.post("", status_code=status.HTTP_201_CREATED, summary=f"Create one of {res.path}")
    async def create_item(
        body: Create,  # type: ignore[valid-type]
        request: Request,
        user: Writer,
        session: SessionDep,
    ) -> dict[str, Any]:
        values = body.model_dump(mode="python")  # type: ignore[attr-defined]
        await _check_refs(res, session, values)
        row = res.model(**values)
        session.add(row)
        try:
            await session.commit()
        except IntegrityError as exc:
            raise _conflict(res, exc) from exc
        return await _written(res, request, row, user, session, f"POST /api/v1/{res.path}")

    @router.patch("/{item_id}", summary=f"Change one of {res.path}")
    async def update_item(
        item_id: IdPath,  # type: ignore[valid-type]
        body: Update,  # type: ignore[valid-type]
        request: Request,
        user: Writer,
        session: SessionDep,
    ) -> dict[str, Any]:
        row = await _get(session, item_id)
        values = body.model_dump(mode="python", exclude_unset=True)  # type: ignore[attr-defined]
        for name, value in values.items():
            if value is None and not res.model.__table__.columns[name].nullable:
                raise _invalid(name, "may not be null")
        await _check_refs(res, session, values)
        for name, value in values.items():
            setattr(row, name, value)
        if res.on_change is not None:
            await res.on_change(session, row, user, False)
        try:
            await session.commit()
        except IntegrityError as exc:
            raise _conflict(res, exc) from exc
        return await _written(res, request, row, user, session, f"PATCH /api/v1/{res.path}/{{id}}")

    @router.delete(
        "/{item_id}", status_code=status.HTTP_204_NO_CONTENT, summary=f"Delete one of {res.path}"
    )
    async def delete_item(
        item_id: IdPath,  # type: ignore[valid-type]
        user: Writer,
        session: SessionDep,
    ) -> None:
        row = await _get(session, item_id)
        if res.on_change is not None:
            await res.on_change(session, row, user, True)
        await session.delete(row)
        try:
            await session.commit()
        except IntegrityError as exc:
            raise _conflict(res, exc) from exc

    return router
