"""Pure parts of the console: masking by role, CSV defusing, response-time arithmetic."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from cloud.auth.models import User
from cloud.console.access import Viewer
from cloud.console.export import to_csv
from cloud.console.reports import ResponseRow, response_stats

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _viewer(role: str) -> Viewer:
    return Viewer(User(username="u", role=role))


@pytest.mark.parametrize(
    ("role", "phone", "id_number"),
    [
        ("admin", "13812345678", "110101194501011234"),
        ("supervisor", "13812345678", "110***********1234"),
        ("dispatcher", "13812345678", "110***********1234"),
    ],
)
def test_what_each_role_sees(role: str, phone: str, id_number: str) -> None:
    viewer = _viewer(role)
    assert viewer.field("resident.phone", "13812345678") == phone
    assert viewer.field("resident.id_number", "110101194501011234") == id_number


def test_trail_text_keeps_timestamps_and_ids_for_every_console_role() -> None:
    text = "deadline_at=2026-12-02T17:30:00+00:00, task=T20261202-0042, to=+8613700002222"
    for role in ("admin", "supervisor", "dispatcher"):
        assert _viewer(role).text(text) == text  # was 'deadline_at=202***2-02T17:30...'


def test_csv_cells_a_spreadsheet_would_run_are_defused() -> None:
    text = to_csv(["name", "n"], [['=HYPERLINK("x")', -3], ["@SUM(A1)", None], ["plain", 2.5]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ['\'=HYPERLINK("x")', "'-3"]
    assert rows[2] == ["'@SUM(A1)", ""]
    assert rows[3] == ["plain", "2.5"]


def _row(created_min_ago: float, on_site_after: float | None, state: str) -> ResponseRow:
    created = NOW - timedelta(minutes=created_min_ago)
    arrived = created + timedelta(minutes=on_site_after) if on_site_after is not None else None
    return ResponseRow("T", "h", "d", created, arrived, state, 1800.0)


def test_response_stats_count_arrivals_and_overdue_tasks_only() -> None:
    rows = [
        _row(100, 10, "resolved"),  # within
        _row(100, 30, "resolved"),  # exactly on target: within
        _row(100, 31, "resolved"),  # missed
        _row(45, None, "en_route"),  # overdue with nobody there: missed
        _row(10, None, "offered"),  # still inside its target: not counted yet
        _row(45, None, "cancelled"),  # cancelled without a visit: not counted
    ]
    stats = response_stats(rows, NOW)
    assert (stats.count, stats.within_target, stats.missed) == (4, 2, 2)
    assert stats.median_s == 30 * 60
    assert [b.count for b in stats.bins][:8] == [0, 0, 1, 0, 0, 0, 2, 0]  # [lo, hi) bins


def test_response_stats_without_any_response() -> None:
    stats = response_stats([_row(5, None, "offered")], NOW)
    assert stats.count == 0 and stats.share_within_target is None and stats.bins == []
