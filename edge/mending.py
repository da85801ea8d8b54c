"""Mending what the cloud refused: an alarm is never given up for a field the gateway can fix.

The cloud names the field at fault (``raised_at: ...``, ``evidence[0].ts: ...``, or a 422
``detail`` whose ``field`` is ``alarms[0].raised_at``). A time is replaced by the time the
gateway stored the envelope (and the alarm marked ``clock_suspect``), optional content
(evidence, details, message, room, device) is dropped, a refused id is replaced by a new
random one, and fields an older cloud does not know are taken out (schema version 1).
Identity fields (gateway, home, kind, severity of an alarm; the alarm an update names)
cannot be mended: the envelope is kept as failed. Each field is mended once per envelope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from protocol.envelopes import from_epoch, new_id

MendTable = Literal["alarms", "updates"]
Fix = Callable[[dict[str, Any], float], str | None]

_FIELD = re.compile(r"^([A-Za-z_]+)")
_ITEM_PREFIX = re.compile(r"^(alarms|updates)\[\d+\]\.")
_V2_ONLY = "clock_suspect"
_DETAIL_FIELD = re.compile(r'"field"\s*:\s*"([^"]+)"')


@dataclass(frozen=True, slots=True)
class Mended:
    """A body to send again, the field it mended, and the new id if the id was the fault."""

    body: str
    field: str
    new_id: str | None = None


def refused_field(error: str) -> str | None:
    """The top-level field a refusal names (``evidence`` for ``evidence[0].ts: ...``)."""
    text = error
    if re.search(r"HTTP 4\d\d: ", error):  # a whole request refused: FastAPI's detail
        named = _DETAIL_FIELD.search(error)  # (the answer may be cut short: no JSON parse)
        if named is None:
            return None
        text = named.group(1)
    text = _ITEM_PREFIX.sub("", text.strip())
    if _V2_ONLY in text.split(":", 1)[0]:
        return _V2_ONLY  # ``evidence[0].clock_suspect: Extra inputs are not permitted``
    found = _FIELD.match(text)
    return found.group(1) if found else None


def mend(
    table: MendTable, body: str, error: str, *, stored_at: float, done: set[str]
) -> Mended | None:
    """The envelope mended for ``error``, or None when it cannot be (or was already)."""
    field = refused_field(error)
    if field is None or field in done:
        return None
    data: dict[str, Any] = json.loads(body)
    fixed = _ALARM.get(field) if table == "alarms" else _UPDATE.get(field)
    if fixed is None:
        return None
    changed_id = fixed(data, stored_at)
    if table == "alarms":
        data.setdefault("details", {})["mended"] = ",".join(sorted({*done, field}))
    return Mended(json.dumps(data, separators=(",", ":")), field, changed_id)


def _time(key: str) -> Fix:
    def fix(data: dict[str, Any], stored_at: float) -> None:
        data[key] = from_epoch(stored_at).isoformat()
        if key == "raised_at" and data.get("schema_version", 1) >= 2:
            data["clock_suspect"] = True

    return fix


def _reset(key: str, value: Any) -> Fix:
    def fix(data: dict[str, Any], _stored_at: float) -> None:
        data[key] = value

    return fix


def _new_alarm_id(data: dict[str, Any], _stored_at: float) -> str:
    data["alarm_id"] = new_id()
    return str(data["alarm_id"])


def _version_1(data: dict[str, Any], _stored_at: float) -> None:
    """What a cloud of protocol version 1 takes: no field it does not know."""
    suspect = bool(data.pop(_V2_ONLY, False))
    for ev in data.get("evidence", []):
        suspect = bool(ev.pop(_V2_ONLY, False)) or suspect
    if suspect:
        data.setdefault("details", {})[_V2_ONLY] = True
    data["schema_version"] = 1


_ALARM: dict[str, Fix] = {
    "raised_at": _time("raised_at"),
    "evidence": _reset("evidence", []),
    "details": _reset("details", {}),
    "message": _reset("message", ""),
    "room": _reset("room", None),
    "device_id": _reset("device_id", None),
    "detector": _reset("detector", "gateway"),
    "alarm_id": _new_alarm_id,
    "schema_version": _version_1,
    _V2_ONLY: _version_1,
}
_UPDATE: dict[str, Fix] = {
    "ts": _time("ts"),
    "evidence": _reset("evidence", []),
    "reason": _reset("reason", ""),
    "severity": _reset("severity", None),
    "schema_version": _version_1,
}
