"""``carewatch-gateway burn-in``: is a new installation sound after its first 24 hours?

Read from the gateway's own data directory only (``detectors.json``, the outbox and its
quarantine), never from the broker: every paired device heard, every room's activity
sensors fired at least once, each device's last message within its heartbeat allowance
(1.5 intervals + 60 s, or the profile's offline timeout) of the newest message of the home,
batteries plausible (0-100 % and above the low mark), no maintenance alarm left open, and
what the quarantine holds per device.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from edge.app import STATE_FILE
from edge.detectors.activity import ACTIVITY_KINDS
from edge.detectors.device_health import DeviceHealthConfig
from edge.outbox import DB_NAME
from firmware_profiles.library import ProfileLibrary
from protocol import HomeManifest

MAINTENANCE = ("device_offline", "battery_low", "tamper", "sensor_silent", "zigbee_offline")


class BurnInError(ValueError):
    """The data directory cannot be read as a gateway's (names the file)."""


def _state(data_dir: Path) -> dict[str, Any]:
    path = data_dir / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BurnInError(f"{path}: no detector state (has the gateway run here?)") from None
    except (OSError, ValueError) as exc:
        raise BurnInError(f"{path}: unreadable: {exc}") from exc
    return {"detectors": data} if isinstance(data, list) else dict(data)


def _outbox(data_dir: Path) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Open alarms (kind list per device) and quarantined messages per device."""
    path = data_dir / DB_NAME
    if not path.exists():
        return {}, {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            alarms = db.execute("SELECT device_id, kind FROM alarms WHERE is_open = 1").fetchall()
            quar = db.execute(
                "SELECT device_id, COUNT(*) FROM quarantine GROUP BY device_id"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise BurnInError(f"{path}: {exc}") from exc
    open_: dict[str, list[str]] = {}
    for dev, kind in alarms:
        open_.setdefault(dev or "home", []).append(str(kind))
    return open_, {str(d or "(unknown)"): int(n) for d, n in quar}


def report(home: HomeManifest, library: ProfileLibrary, data_dir: Path) -> dict[str, Any]:
    """The burn-in report of ``home`` from ``data_dir``; ``ok`` when every check passes."""
    state = _state(data_dir)
    health: dict[str, dict[str, Any]] = {}
    fired: set[str] = set()
    for entry in state.get("detectors", []):
        if entry.get("type") == "device_health" and entry.get("device_id"):
            health[entry["device_id"]] = entry.get("state", {})
        if entry.get("type") == "sensor_silence":
            fired |= set(entry.get("state", {}).get("last", {}))
    open_alarms, quarantined = _outbox(data_dir)
    cfg = DeviceHealthConfig()
    seen = [s["last_seen"] for s in health.values() if s.get("last_seen") is not None]
    newest = max(seen) if seen else None
    devices = []
    for dev in home.devices:
        prof = library.get(dev.profile)
        last = health.get(dev.device_id, {}).get("last_seen")
        allowed = prof.offline_timeout_s or (
            cfg.missed_heartbeats * prof.heartbeat_interval_s + cfg.grace_s
        )
        battery = health.get(dev.device_id, {}).get("battery_pct")
        sensor = bool(set(prof.kinds) & ACTIVITY_KINDS)
        problems = []
        if last is None:
            problems.append("never heard")
        elif newest is not None and newest - last > allowed:
            problems.append(
                f"silent {(newest - last) / 3600:.1f} h (heartbeat allows {allowed:.0f} s)"
            )
        if battery is not None and not 0 <= float(battery) <= 100:
            problems.append(f"battery {battery} is not a percentage")
        elif battery is not None and float(battery) < cfg.battery_low:
            problems.append(f"battery {float(battery):.0f} %")
        if sensor and dev.device_id not in fired:
            problems.append("never fired")
        kinds = [k for k in open_alarms.get(dev.device_id, []) if k in MAINTENANCE]
        problems += [f"open {k} alarm" for k in kinds]
        devices.append(
            {
                "device_id": dev.device_id,
                "room": dev.room,
                "profile": dev.profile,
                "heard": last is not None,
                "last_seen": last,
                "heartbeat_allowed_s": allowed,
                "battery": battery,
                "activity_sensor": sensor,
                "fired": dev.device_id in fired if sensor else None,
                "quarantined": quarantined.get(dev.device_id, 0),
                "problems": problems,
            }
        )
    rooms = []
    for room in sorted({d.room for d in home.devices}):
        sensors = [d for d in devices if d["room"] == room and d["activity_sensor"]]
        silent = [d["device_id"] for d in sensors if not d["fired"]]
        rooms.append(
            {
                "room": room,
                "sensors": [d["device_id"] for d in sensors],
                "all_fired": not silent,
                "not_fired": silent,
            }
        )
    return {
        "home_id": home.home_id,
        "data_dir": str(data_dir),
        "newest_message": newest,
        "ok": all(not d["problems"] for d in devices) and all(r["all_fired"] for r in rooms),
        "devices": devices,
        "rooms": rooms,
        "quarantined_unknown": quarantined.get("(unknown)", 0),
    }


def text(rep: dict[str, Any]) -> str:
    """The report for an installer to read."""
    lines = [
        f"burn-in of {rep['home_id']} ({rep['data_dir']}): {'OK' if rep['ok'] else 'PROBLEMS'}"
    ]
    for d in rep["devices"]:
        mark = "ok " if not d["problems"] else "!! "
        battery = "-" if d["battery"] is None else f"{d['battery']}%"
        lines.append(
            f"  {mark}{d['device_id']:<24} {d['room']:<14} battery {battery:<6}"
            f" quarantined {d['quarantined']}"
            + (f"  {'; '.join(d['problems'])}" if d["problems"] else "")
        )
    for r in rep["rooms"]:
        if r["sensors"]:
            state = (
                "every sensor fired"
                if r["all_fired"]
                else f"not fired: {', '.join(r['not_fired'])}"
            )
            lines.append(f"  room {r['room']}: {state}")
    if rep["quarantined_unknown"]:
        lines.append(f"  {rep['quarantined_unknown']} quarantined messages from unknown devices")
    return "\n".join(lines)
