"""edge.timecheck: a device with a wrong clock is re-stamped every time, logged rarely."""

from __future__ import annotations

import logging

import pytest

from edge.timecheck import WARN_EVERY_S, TimeCheck
from protocol import Reading, ReadingKind

NOW = 1_800_000_000.0
LOGGER = "edge.timecheck"


def stale(device: str, n: int) -> list[Reading]:
    """n battery readings of ``device`` stamped 1970."""
    return [Reading(device, 100.0 + i, ReadingKind.BATTERY, 80) for i in range(n)]


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_a_burst_of_implausible_times_logs_once_per_device(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = TimeCheck(earliest=NOW - 86400, max_ahead_s=300, max_behind_s=86400)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    out = []
    for i in range(200):
        out += check.check(stale("pir", 1) + stale("door", 1), NOW + i)
    assert [r.ts for r in out] == [NOW + i for i in range(200) for _ in range(2)]
    assert all(r.extra["device_ts"] < NOW - 86400 for r in out)
    assert check.replaced == 400 and check.suspect("pir", NOW + 199)
    got = lines(caplog)
    assert len(got) == 2
    assert "device=pir" in got[0] and "device=door" in got[1]


def test_a_device_still_wrong_later_logs_again_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = TimeCheck(earliest=NOW - 86400, max_ahead_s=300, max_behind_s=86400)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    check.check(stale("pir", 1), NOW)
    check.check(stale("pir", 5), NOW + 1)
    check.check(stale("pir", 1), NOW + WARN_EVERY_S)
    got = lines(caplog)
    assert len(got) == 2
    assert "restamped_since_last=1" in got[0] and "restamped_since_last=6" in got[1]


def test_simulated_times_are_judged_against_the_simulated_clock_not_the_build_date() -> None:
    """Under ``clock.source: sim`` a scenario may play a date before the build date: a
    press and the cancel 2 s later keep their own times (nothing re-stamped, nothing marked
    suspect); a simulated time far from the simulator's now is still replaced."""
    sim_now = NOW - 400 * 86400  # a scenario a year before the gateway was built
    check = TimeCheck(earliest=NOW - 86400, max_ahead_s=300, max_behind_s=86400)
    press = Reading("cord", sim_now, ReadingKind.SOS, True)
    cancel = Reading("cord", sim_now + 2, ReadingKind.CANCEL, True)
    out = check.check([press, cancel], sim_now + 2, simulated=True)
    assert [r.ts for r in out] == [sim_now, sim_now + 2]
    assert check.replaced == 0 and not check.suspect("cord", sim_now + 2)
    [ahead] = check.check(
        [Reading("cord", sim_now + 3600, ReadingKind.SOS, True)], sim_now, simulated=True
    )
    assert ahead.ts == sim_now and check.replaced == 1
    [wall] = check.check([press], sim_now + 2)
    assert wall.ts == sim_now + 2, "on the wall clock the build date still applies"
