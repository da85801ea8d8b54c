"""What messages and the worker app show about a task: home, resident, clues."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.dispatch.models import Clue, Task
from cloud.models import Household, Resident
from cloud.notify.texts import TaskFacts
from cloud.privacy.policy import Audience, render


@dataclass(frozen=True, slots=True)
class Home:
    """A household with the resident's first name and conditions."""

    household: Household
    first_name: str
    conditions: tuple[str, ...]
    resident_id: int | None = None


async def load_home(session: AsyncSession, household_id: str) -> Home | None:
    """The household and its (first) resident."""
    hh = await session.get(Household, household_id)
    if hh is None:
        return None
    res = await session.scalar(
        select(Resident).where(Resident.household_id == household_id).order_by(Resident.id)
    )
    first = res.first_name if res else (hh.name or household_id)
    return Home(hh, first, tuple(res.conditions or ()) if res else (), res.id if res else None)


def task_facts(
    task: Task, home: Home, audience: Audience, distance_km: float | None = None
) -> TaskFacts:
    """Facts for a message text to ``audience`` (what the privacy policy lets it carry)."""
    return TaskFacts(
        number=task.number,
        kind=task.alarm_kind,
        first_name=render(audience, "resident.first_name", home.first_name) or "",
        address=render(audience, "household.address", home.household.address) or "",
        access_notes=render(audience, "household.access_notes", home.household.access_notes) or "",
        conditions=tuple(render(audience, "resident.conditions", home.conditions) or ()),
        distance_km=distance_km,
    )


async def open_clues(session: AsyncSession, household_id: str) -> list[Clue]:
    """The household's clues not yet closed by a visit."""
    rows = await session.scalars(
        select(Clue)
        .where(Clue.household_id == household_id, Clue.closed_at.is_(None))
        .order_by(Clue.created_at)
    )
    return list(rows)
