"""Migration 0002 matches the models, and goes down and up again on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

import cloud.dispatch.models
import cloud.notify.models  # noqa: F401  (registers the tables on Base.metadata)
from cloud.db import Base, make_engine
from cloud.migrate import downgrade, upgrade

MINE = {
    "dispatch_task_counters",
    "dispatch_tasks",
    "dispatch_task_alarms",
    "dispatch_offers",
    "dispatch_task_events",
    "dispatch_clues",
    "notifications",
    "notification_receipts",
    "push_subscriptions",
    "sms_blocked_numbers",
}


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if name in MINE:
            return str(name)
    return item[2] if len(item) > 2 and isinstance(item[2], str) else None


def _diff(conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return [d for d in compare_metadata(ctx, Base.metadata) if _table_of(d) in MINE]


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) & MINE


async def test_schema_matches_models_and_round_trips(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == MINE
            assert await conn.run_sync(_diff) == []
        await downgrade(engine, "0001_core")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == MINE
    finally:
        await engine.dispose()


async def test_unique_worker_phones_migration_refuses_duplicates(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        await downgrade(engine, "0004_alarm_identity")  # the revision before 0005_security
        async with engine.begin() as conn:
            for name in ("a", "b"):
                await conn.execute(
                    text(
                        "INSERT INTO workers (name, phone, language, role, district, duty_status,"
                        " skills, capacity, active, created_at, updated_at) VALUES (:n,"
                        " '+8613800000000', 'zh', 'worker', '', 'off', '[]', 1, true, :t, :t)"
                    ),
                    {"n": name, "t": datetime.now(UTC)},
                )
        with pytest.raises(RuntimeError, match=r"workers\.phone: 1 numbers are shared"):
            await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM workers WHERE name = 'b'"))
        await upgrade(engine)
        async with engine.connect() as conn:
            assert "sms_inbound" in await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
