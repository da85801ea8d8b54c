"""CSV import of households and workers: validate each row, store the good ones, report the rest.

Every bad row is reported with its number and what is wrong, and the rest are imported:
bytes that are not UTF-8, a cell over ``MAX_CELL`` characters, a NUL byte, a row the CSV
reader cannot parse, a value the schema refuses, an id or (for workers) a phone number
repeated in the file or already registered.
"""

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
MAX_CELL = 4096  # characters; no registry field is longer (addresses, notes: 1,000)
_READER_LIMIT = 16 << 20  # the csv module's own cell limit, far above MAX_CELL


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


class BadRow(ValueError):
    """A row that cannot be read at all; ``field`` names the column (or ``row``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    """(row number, cells) per data row, or a ``BadRow`` for a row that cannot be read.

    Bytes that are not UTF-8 are kept as surrogates while reading, so one bad row does not
    stop the file, and reported for the cell holding them.
    """
    csv.field_size_limit(max(csv.field_size_limit(), _READER_LIMIT))
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            yield 1, BadRow("header", f"not readable as CSV: {exc}")
            return
        row = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row += 1
                yield row, BadRow("row", f"not readable as CSV: {exc}")
                continue
            row += 1
            yield row, _check_cells(header, cells)


def _check_cells(header: list[str], cells: list[str]) -> dict[str, Any] | BadRow:
    if len(cells) > len(header):
        return BadRow("row", "more cells than header columns")
    named = dict(zip(header, cells, strict=False))
    for name, value in named.items():
        if any("\udc80" <= ch <= "\udcff" for ch in value):
            raw = value.encode("utf-8", "surrogateescape")
            return BadRow(name, f"not UTF-8 text (bytes {raw[:12]!r}...); save the file as UTF-8")
        if len(value) > MAX_CELL:
            return BadRow(name, f"cell of {len(value)} characters; at most {MAX_CELL}")
        if "\x00" in value:
            return BadRow(name, "must not contain NUL characters")
    return named


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
    seen_phones: set[str] = set()
    done = 0
    for rownum, row in _rows(path):
        done += 1
        if isinstance(row, BadRow):
            report.rejected.append(Rejected(rownum, row.field, str(row)))
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
        phone = getattr(item, "phone", None) if model is Worker else None
        if phone is not None:
            if phone in seen_phones:
                report.rejected.append(Rejected(rownum, "phone", "repeated in this file"))
                continue
            seen_phones.add(phone)
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
        key, column = ("id", Household.id) if model is Household else ("phone", Worker.phone)
        values = [getattr(item, key) for _, item in chunk]
        existing = set((await session.scalars(select(column).where(column.in_(values)))).all())
        for rownum, item in chunk:
            if getattr(item, key) in existing:
                report.rejected.append(Rejected(rownum, key, "already registered"))
                continue
            session.add(model(**item.model_dump()))
            report.imported += 1
        await session.commit()
