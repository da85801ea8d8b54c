"""The one place that decides what becomes an alarm.

Severity by kind (protocol.DEFAULT_SEVERITY, overridable), de-duplication (a repeat updates
the open alarm), correlation (an unconfirmed fall followed by no motion, or confirmed by a
second fall sensor, becomes critical), clearing, and suppression while a device is in
maintenance or the resident is away. Pure and synchronous: fed items, returns envelopes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from edge.config import AlarmsConfig
from edge.detectors.base import Detection
from edge.items import Activity, AlarmInput, Tick
from edge.timecheck import TimeCheck
from protocol import (
    Alarm,
    AlarmAction,
    AlarmKind,
    AlarmUpdate,
    Evidence,
    HomeManifest,
    Severity,
)
from protocol.envelopes import DEFAULT_SEVERITY, from_epoch

log = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("5b0c7c2e-58f3-4a4c-9d55-1f0f2b7a9e11")
FALL_KINDS = frozenset({AlarmKind.FALL, AlarmKind.RADAR_FALL})
NEVER_SUPPRESSED = frozenset({AlarmKind.SOS, AlarmKind.TEST})
Envelope = Alarm | AlarmUpdate


@dataclass(slots=True)
class _Open:
    alarm: Alarm
    severity: Severity
    last_update_ts: float
    fall_pending: bool = False
    repeats: int = 0
    key: str = ""  # the gateway-local key (alarm_key_for); the cloud sees alarm.alarm_id


@dataclass(slots=True)
class AlarmStats:
    """Counters for the heartbeat and the logs."""

    raised: int = 0
    updated: int = 0
    cleared: int = 0
    deduplicated: int = 0
    suppressed: int = 0
    bad_evidence: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def alarm_key_for(gateway_id: str, kind: AlarmKind, key: str, ts: float) -> str:
    """Gateway-local key: the same condition at the same event time gets the same key after
    a restart, so an MQTT replay finds its alarm. Never sent: it is predictable."""
    return str(uuid.uuid5(_NAMESPACE, f"{gateway_id}|{kind.value}|{key}|{ts:.3f}"))


IdSource = Callable[[str], str]  # local key -> the id the cloud sees (chosen once, kept)


def _same_id(key: str) -> str:
    return key


class AlarmManager:
    """Turns detections into alarms and alarm updates for one home."""

    def __init__(
        self,
        home: HomeManifest,
        config: AlarmsConfig,
        *,
        ids: IdSource = _same_id,
        timecheck: TimeCheck | None = None,
    ) -> None:
        """``ids`` gives the cloud id of a local key (``Outbox.cloud_id``: random, chosen once
        and persisted); the default uses the key itself (tests of the manager alone).
        ``timecheck`` says which device times were replaced (marked ``clock_suspect``)."""
        self.home = home
        self.config = config
        self.ids = ids
        self.timecheck = timecheck
        self.gateway_clock_suspect = False  # set when the gateway's own clock is not synced
        self.away = config.resident_away
        self.maintenance: set[str] = set(config.maintenance_devices)
        self.stats = AlarmStats()
        self._open: dict[str, _Open] = {}
        self._last_activity = float("-inf")
        self._where: tuple[float, str] | None = None  # latest motion/presence: (ts, room)

    # -- state --------------------------------------------------------------------------

    def restore(self, open_alarms: Iterable[tuple[Alarm, Severity, str]]) -> None:
        """Resume the alarms still open in the outbox: (alarm, severity, local key)."""
        for alarm, severity, key in open_alarms:
            ts = alarm.raised_at.timestamp()
            pending = alarm.kind in FALL_KINDS and severity is not Severity.CRITICAL
            self._open[self._key(alarm.kind, alarm.device_id, alarm.room)] = _Open(
                alarm, severity, ts, fall_pending=pending, key=key
            )

    def set_mode(self, *, away: bool, maintenance: set[str]) -> None:
        """Resident away or home; devices in maintenance."""
        if away != self.away or maintenance != self.maintenance:
            log.info("alarm mode away=%s maintenance=%s", away, sorted(maintenance))
        self.away, self.maintenance = away, set(maintenance)

    @property
    def open_count(self) -> int:
        """Alarms currently open."""
        return len(self._open)

    # -- handling -----------------------------------------------------------------------

    def handle(self, item: AlarmInput) -> list[Envelope]:
        """Process one detection, activity marker or tick."""
        if isinstance(item, Tick):
            return self._tick(item.now)
        if isinstance(item, Activity):
            self._last_activity = max(self._last_activity, item.ts)
            if item.located and (self._where is None or item.ts >= self._where[0]):
                self._where = (item.ts, item.room)
            return []
        if item.active:
            return self._raise(item)
        return self._end(item)

    def _key(self, kind: AlarmKind, device_id: str | None, room: str | None) -> str:
        return f"{kind.value}|{device_id or ''}|{'' if device_id else room or ''}"

    def _suppressed(self, det: Detection) -> bool:
        if det.kind in NEVER_SUPPRESSED:
            return False
        if det.device_id is not None and det.device_id in self.maintenance:
            return True
        return self.away and det.kind in self.config.away_suppresses

    def _severity(self, det: Detection) -> Severity:
        base = self.config.severity.get(det.kind, DEFAULT_SEVERITY[det.kind])
        if det.kind in FALL_KINDS and not self._confirmed(det):
            return Severity.HIGH if base.rank < Severity.HIGH.rank else base
        return base

    def _confirmed(self, det: Detection) -> bool:
        return bool(det.details.get("confirmed")) or det.score >= self.config.fall_confirm_score

    def _evidence(self, det: Detection) -> list[Evidence]:
        out = []
        for ev in det.evidence[:50]:
            data: dict[str, Any] = dict(ev)
            ts = data.get("ts")
            if isinstance(ts, int | float):
                if self._suspect(data.get("device_id"), float(ts)):
                    data["clock_suspect"] = True
                data["ts"] = from_epoch(float(ts))
            try:
                out.append(Evidence.model_validate(data))
            except ValidationError as exc:
                self.stats.bad_evidence += 1
                log.warning(
                    "bad evidence detector=%s kind=%s error=%s",
                    det.detector,
                    det.kind,
                    str(exc).replace("\n", " ")[:200],
                )
        return out

    def _raise(self, det: Detection) -> list[Envelope]:
        if self._suppressed(det):
            self.stats.suppressed += 1
            log.info(
                "alarm suppressed kind=%s device=%s away=%s", det.kind, det.device_id, self.away
            )
            return []
        room = det.room or self._room_of(det.device_id)
        details = {**det.details, "score": round(det.score, 4)}
        if self._worn(det.device_id) and self._where is not None:
            details["registered_room"] = room or ""
            details["room_seen_at"] = round(self._where[0], 3)
            room = self._where[1]  # where the resident is, not where the band was paired
        key = self._key(det.kind, det.device_id, room)
        severity = self._severity(det)
        current = self._open.get(key)
        if current is not None:
            return self._repeat(current, det, severity)
        local = alarm_key_for(self.home.gateway_id, det.kind, key, det.ts)
        evidence = self._evidence(det)
        alarm = Alarm(
            alarm_id=self.ids(local),
            gateway_id=self.home.gateway_id,
            home_id=self.home.home_id,
            device_id=det.device_id,
            kind=det.kind,
            severity=severity,
            raised_at=from_epoch(det.ts),
            detector=det.detector[:64],
            message=det.message[:500],
            room=room,
            evidence=evidence,
            details=details,
            clock_suspect=self.gateway_clock_suspect
            or self._suspect(det.device_id, det.ts)
            or any(e.clock_suspect for e in evidence),
        )
        pending = det.kind in FALL_KINDS and severity is not Severity.CRITICAL
        self._open[key] = _Open(alarm, severity, det.ts, fall_pending=pending, key=local)
        self.stats.raised += 1
        self.stats.by_kind[det.kind.value] = self.stats.by_kind.get(det.kind.value, 0) + 1
        log.info(
            "alarm raised id=%s kind=%s severity=%s device=%s room=%s",
            alarm.alarm_id,
            det.kind,
            severity,
            det.device_id,
            room,
        )
        out: list[Envelope] = [alarm]
        if det.kind in FALL_KINDS:
            out += self._confirm_falls(det, room)
        return out

    def _repeat(self, current: _Open, det: Detection, severity: Severity) -> list[Envelope]:
        current.repeats += 1
        if severity.rank < current.severity.rank:
            current.fall_pending = current.fall_pending and severity is not Severity.CRITICAL
            return [self._update(current, det.ts, severity=severity, reason="severity raised")]
        if det.ts - current.last_update_ts >= self.config.repeat_update_s:
            return [
                self._update(
                    current,
                    det.ts,
                    reason=f"repeated {current.repeats} times",
                    evidence=self._evidence(det),
                )
            ]
        self.stats.deduplicated += 1
        return []

    def _confirm_falls(self, det: Detection, room: str | None) -> list[Envelope]:
        """A second fall sensor agreeing confirms every pending fall of the home."""
        falls = [o for o in self._open.values() if o.alarm.kind in FALL_KINDS]
        if len({o.alarm.kind for o in falls}) < 2:
            return []
        out: list[Envelope] = []
        for o in falls:
            if o.fall_pending:
                o.fall_pending = False
                reason = f"confirmed by {det.kind.value} in {room or 'home'}"
                out.append(self._update(o, det.ts, severity=Severity.CRITICAL, reason=reason))
        return out

    def _end(self, det: Detection) -> list[Envelope]:
        room = det.room or self._room_of(det.device_id)
        current = self._open.pop(self._key(det.kind, det.device_id, room), None)
        if current is None:
            return []
        cancelled = bool(det.details.get("cancelled"))
        self.stats.cleared += 1
        log.info(
            "alarm %s id=%s kind=%s",
            "cancelled" if cancelled else "cleared",
            current.alarm.alarm_id,
            det.kind,
        )
        action = AlarmAction.CANCEL if cancelled else AlarmAction.CLEAR
        return [self._update(current, det.ts, action=action, reason=det.message or action.value)]

    def _tick(self, now: float) -> list[Envelope]:
        out: list[Envelope] = []
        for o in self._open.values():
            if not o.fall_pending:
                continue
            fall_ts = o.alarm.raised_at.timestamp()
            if self._last_activity > fall_ts + 2.0:
                o.fall_pending = False  # the person moved: it stays as raised
                continue
            if now - fall_ts >= self.config.fall_stillness_s:
                o.fall_pending = False
                reason = f"no motion for {self.config.fall_stillness_s:.0f}s after the fall"
                out.append(self._update(o, now, severity=Severity.CRITICAL, reason=reason))
        return out

    def _update(
        self,
        current: _Open,
        ts: float,
        *,
        action: AlarmAction = AlarmAction.UPDATE,
        severity: Severity | None = None,
        reason: str = "",
        evidence: list[Evidence] | None = None,
    ) -> AlarmUpdate:
        current.last_update_ts = ts
        if severity is not None:
            current.severity = severity
        self.stats.updated += 1
        update_id = str(uuid.uuid5(_NAMESPACE, f"{current.key}|{action.value}|{ts:.3f}|{severity}"))
        return AlarmUpdate(
            update_id=update_id,
            alarm_id=self.ids(current.key) if current.key else current.alarm.alarm_id,
            gateway_id=self.home.gateway_id,
            action=action,
            ts=from_epoch(ts),
            severity=severity,
            reason=reason[:500],
            evidence=evidence or [],
        )

    def _suspect(self, device_id: object, ts: float) -> bool:
        if self.timecheck is None:
            return False
        return self.timecheck.suspect(device_id if isinstance(device_id, str) else None, ts)

    def _worn(self, device_id: str | None) -> bool:
        dev = self.home.device(device_id) if device_id is not None else None
        return dev is not None and dev.worn_by is not None

    def _room_of(self, device_id: str | None) -> str | None:
        if device_id is None:
            return None
        dev = self.home.device(device_id)
        return dev.room if dev else None
