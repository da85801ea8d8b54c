"""The append-only, hash-chained audit trail of a task."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.dispatch.models import Task, TaskEvent

GENESIS = "0" * 64


def event_hash(
    prev_hash: str,
    *,
    task_id: int,
    seq: int,
    ts: datetime,
    action: str,
    actor: str,
    channel: str,
    detail: dict[str, Any],
) -> str:
    """SHA-256 over the previous hash and a canonical JSON of the entry."""
    body = json.dumps(
        [task_id, seq, ts.isoformat(timespec="microseconds"), action, actor, channel, detail],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def append(
    session: AsyncSession,
    task: Task,
    action: str,
    *,
    actor: str,
    channel: str,
    ts: datetime,
    **detail: Any,
) -> TaskEvent:
    """Add the next entry of ``task``'s trail (the task row must be locked by the caller)."""
    seq = task.last_seq + 1
    prev = task.last_hash or GENESIS
    clean = json.loads(json.dumps(detail, default=str))
    ev = TaskEvent(
        task_id=task.id,
        seq=seq,
        ts=ts,
        action=action,
        actor=actor,
        channel=channel,
        detail=clean,
        prev_hash=prev,
        hash=event_hash(
            prev,
            task_id=task.id,
            seq=seq,
            ts=ts,
            action=action,
            actor=actor,
            channel=channel,
            detail=clean,
        ),
    )
    task.last_seq, task.last_hash = seq, ev.hash
    session.add(ev)
    return ev


@dataclass(frozen=True, slots=True)
class Verification:
    """Result of checking a trail: ``ok``, entries checked, first bad ``seq`` and why."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_events(task: Task, events: Sequence[TaskEvent]) -> Verification:
    """Recompute the chain; any edit, deletion or reordering breaks it."""
    prev = GENESIS
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            return Verification(False, len(events), expected_seq, "entry missing or reordered")
        if ev.prev_hash != prev:
            return Verification(False, len(events), ev.seq, "prev_hash does not match")
        digest = event_hash(
            prev,
            task_id=ev.task_id,
            seq=ev.seq,
            ts=ev.ts,
            action=ev.action,
            actor=ev.actor,
            channel=ev.channel,
            detail=ev.detail,
        )
        if digest != ev.hash:
            return Verification(False, len(events), ev.seq, "content does not match its hash")
        prev = digest
    if events and (task.last_hash != prev or task.last_seq != len(events)):
        return Verification(False, len(events), len(events), "trail truncated")
    if not events and task.last_seq:
        return Verification(False, 0, 1, "trail truncated")
    return Verification(True, len(events))


async def verify_task(session: AsyncSession, task: Task) -> Verification:
    """Load and verify a task's trail."""
    rows = await session.scalars(
        select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.seq)
    )
    return verify_events(task, list(rows))
