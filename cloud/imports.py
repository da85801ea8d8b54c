"""CSV import of households and workers: validate each row, store the good ones, report the rest."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.errors import field_name
from cloud.registry.models import Household, Worker
from cloud.registry.schemas import HouseholdCreate, WorkerCreate
from cloud.schemas import Strict

LIST_FIELDS = {"skills"}  # CSV cells holding lists, separated by ";"
CHUNK = 500


@dataclass
class Rejected:
    """A CSV row that was not imported; ``row`` counts the header as row 1."""

    row: int
    field: str
    error: str


@dataclass
class ImportReport:
    """What an import did."""

    imported: int = 0
    rejected: list[Rejected] = field(default_factory=list)


KINDS: dict[str, tuple[type[Strict], type[Household] | type[Worker]]] = {
    "households": (HouseholdCreate, Household),
    "workers": (WorkerCreate, Worker),
}


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value == "":
            continue
        key = key.strip()
        out[key] = (
            [v.strip() for v in value.split(";") if v.strip()] if key in LIST_FIELDS else value
        )
    return out


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from enumerate(csv.DictReader(fh), start=2)


def count_rows(path: Path) -> int:
    """Data rows in a CSV file (for progress)."""
    return sum(1 for _ in _rows(path))


async def import_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    kind: str,
    path: Path,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``kind`` (households or workers) from ``path``."""
    schema, model = KINDS[kind]
    report = ImportReport()
    chunk: list[tuple[int, Strict]] = []
    seen_ids: set[str] = set()
    done = 0
    for rownum, row in _rows(path):
        done += 1
        if None in row:
            report.rejected.append(Rejected(rownum, "row", "more cells than header columns"))
            continue
        try:
            item = schema.model_validate(_cells(row))
        except ValidationError as exc:
            err = exc.errors()[0]
            report.rejected.append(Rejected(rownum, field_name(err["loc"]), err["msg"]))
            continue
        item_id = getattr(item, "id", None)
        if item_id is not None:
            if item_id in seen_ids:
                report.rejected.append(Rejected(rownum, "id", "repeated in this file"))
                continue
            seen_ids.add(item_id)
        chunk.append((rownum, item))
        if len(chunk) >= CHUNK:
            await _store(sessionmaker, model, chunk, report)
            chunk = []
            if progress:
                progress(done)
    await _store(sessionmaker, model, chunk, report)
    if progress:
        progress(done)
    report.rejected.sort(key=lambda r: r.row)
    return report


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession],
    model: type[Household] | type[Worker],
    chunk: list[tuple[int, Strict]],
    report: ImportReport,
) -> None:
    if not chunk:
        return
    async with sessionmaker() as session:
        existing: set[str] = set()
        if model is Household:
            ids = [getattr(item, "id") for _, item in chunk]  # noqa: B009
            existing = set(
                (await session.scalars(select(Household.id).where(Household.id.in_(ids)))).all()
            )
        for rownum, item in chunk:
            if getattr(item, "id", None) in existing:
                report.rejected.append(Rejected(rownum, "id", "already exists"))
                continue
            session.add(model(**item.model_dump()))
            report.imported += 1
        await session.commit()
