"""bench/inactivity_accuracy.py over homes in the generic ambient-homes format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.inactivity_accuracy import HomeFormatError, load_ambient_home, main
from protocol import ReadingKind

T0 = 1_700_000_000.0  # a Tuesday 22:13 UTC
DAY = 86400.0


def write_home(folder: Path, days: int = 5, *, events: str | None = None) -> Path:
    """A small home: a kitchen PIR fires every 20 min from 07:00 to 23:00, a front door."""
    folder.mkdir(parents=True)
    (folder / "home.json").write_text(
        json.dumps({"name": folder.name, "timezone": "UTC", "front_doors": ["door"]})
    )
    (folder / "sensors.csv").write_text(
        "sensor,room,kind\npir,kitchen,motion\ndoor,hall,front_door\nbed,bedroom,pressure\n"
    )
    if events is None:
        day0 = T0 - T0 % DAY
        rows = []
        for d in range(days):
            rows.append((day0 + d * DAY - 2 * 3600, day0 + d * DAY + 7 * 3600, "bed"))
            for m in range(7 * 60, 23 * 60, 20):
                t = day0 + d * DAY + m * 60
                rows.append((t, t + 30, "pir"))
        events = "start,end,sensor\n" + "".join(f"{a:.0f},{b:.0f},{s}\n" for a, b, s in rows)
    (folder / "events.csv").write_text(events)
    (folder / "away.csv").write_text("start,end\n")
    return folder


def test_a_home_becomes_on_and_off_readings_of_its_kinds(tmp_path: Path) -> None:
    home = load_ambient_home(write_home(tmp_path / "h1", days=1))
    kinds = {(r.device_id, r.kind) for r in home.readings}
    assert kinds == {("pir", ReadingKind.MOTION), ("bed", ReadingKind.OCCUPANCY)}
    assert home.ctx.front_doors == frozenset({"door"}) and home.ctx.rooms["pir"] == "kitchen"
    assert [r.ts for r in home.readings] == sorted(r.ts for r in home.readings)
    assert {r.value for r in home.readings} == {True, False}


@pytest.mark.parametrize(
    ("events", "needle"),
    [
        ("start,end,sensor\n1,2,lamp\n", "events.csv:2: sensor 'lamp'"),
        ("start,end,sensor\n1,2,pir\nsoon,3,pir\n", "events.csv:3: start 'soon'"),
        ("begin,end,sensor\n", "events.csv: header lacks ['start']"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tmp_path: Path, events: str, needle: str) -> None:
    with pytest.raises(HomeFormatError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        load_ambient_home(write_home(tmp_path / "h", events=events))


def test_json_has_the_pooled_and_per_home_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = write_home(tmp_path / "home-a"), write_home(tmp_path / "home-b", days=6)
    assert main(["--home", str(a), "--home", str(b), "--json", "--incidents", "3"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [h["name"] for h in res["homes"]] == ["home-a", "home-b"]
    for part in [res["pooled"], *res["homes"]]:
        assert {"resident_days", "false_alarms_per_resident_day", "daytime_median_delay_h"} <= set(
            part
        )
    days = [h["resident_days"] for h in res["homes"]]
    assert res["pooled"]["resident_days"] == pytest.approx(sum(days), abs=0.02)
    assert res["pooled"]["incidents"]["all"]["incidents"] == 6
    assert res["pooled"]["incidents"]["all"]["detected"] == 6  # they stop moving: all caught


def test_a_bad_home_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_home(tmp_path / "bad", events="start,end,sensor\n1,2,lamp\n")
    assert main(["--home", str(bad)]) == 2
    assert "events.csv:2" in capsys.readouterr().err
