"""The gateway knows whether its own clock is synchronised (issue 11.3)."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formatdate
from pathlib import Path

import yaml

from edge.cli_field import _clock_line
from edge.timecheck import TimeCheck
from edge.timesync import Runner, TimeSync, ntp_synchronized
from protocol import HomeManifest
from tests.edge.z2m_home import HOME_YAML, T0, make_stages, z2m

CHRONY = """Reference ID    : 00000000 ()
Stratum         : 0
Leap status     : Not synchronised
"""


def answers(**by_command: str | None) -> Runner:
    def run(argv: Sequence[str]) -> str | None:
        return by_command.get(argv[0])

    return run


def test_the_time_daemon_is_asked_timesyncd_first_then_chrony() -> None:
    assert ntp_synchronized(answers(timedatectl="yes\n")) == (True, "timedatectl")
    assert ntp_synchronized(answers(timedatectl="no\n")) == (False, "timedatectl")
    assert ntp_synchronized(answers(chronyc=CHRONY)) == (False, "chrony")
    normal = CHRONY.replace("Not synchronised", "Normal")
    assert ntp_synchronized(answers(chronyc=normal)) == (True, "chrony")
    assert ntp_synchronized(answers()) == (None, "none")


def test_the_clouds_date_header_is_a_time_reference() -> None:
    sync = TimeSync(run=answers(), every_s=0)
    sync.refresh()
    assert sync.state().synchronized is None
    now = 1_800_000_000.0
    sync.note_cloud_date(formatdate(now + 0.4, usegmt=True), now=now)
    state = sync.state()
    assert (state.synchronized, state.source) == (True, "cloud")
    sync.note_cloud_date(formatdate(now, usegmt=True), now=12.0)  # a Pi booted at 1970
    state = sync.state()
    assert state.synchronized is False and state.offset_s is not None and state.offset_s > 1e9
    assert _clock_line(state)[0] is False and "NOT synchronised" in _clock_line(state)[2]
    sync.note_cloud_date("not a date")
    assert sync.state() == state


def test_a_synchronised_daemon_is_believed() -> None:
    sync = TimeSync(run=answers(timedatectl="yes"), every_s=0)
    sync.refresh()
    assert sync.state().source == "timedatectl" and sync.state().synchronized is True


def test_a_gateway_booted_at_1970_restamps_readings_by_the_clouds_clock(tmp_path: Path) -> None:
    home = HomeManifest.model_validate(yaml.safe_load(HOME_YAML))
    stages = make_stages(home, tmp_path)
    stages.timecheck = TimeCheck(earliest=T0 - 86400, max_ahead_s=300, max_behind_s=86400)
    stages.clock_correction_s = T0 - 20.0  # the cloud's Date says it is T0, we say 20 s
    [readings] = stages.decode_one(z2m("sos_button", 20.0, action="single"))
    assert isinstance(readings, list) and readings
    assert all(r.ts == T0 and r.extra["device_ts"] == 20.0 for r in readings)
    assert stages.timecheck.suspect("sos_button", T0)
