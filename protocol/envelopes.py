"""Edge-to-cloud envelopes: alarms, alarm updates, telemetry batches, heartbeats.

Every envelope carries ``schema_version`` and an idempotency id (``alarm_id``,
``update_id``, ``batch_id``): the cloud stores a redelivered envelope once and answers it
the same way, so gateways deliver at-least-once and the effect is exactly-once. Ids are
scoped to the gateway that sent them: the cloud's key is (gateway, id).

Versions (the cloud accepts both; a version 1 envelope is a version 2 one with the new
fields at their defaults):

1. the first contract.
2. alarm ids are random (UUID4), chosen once by the gateway and kept across restarts;
   ``Alarm.clock_suspect`` and ``Evidence.clock_suspect`` mark a device time the gateway
   replaced by its receive time; the heartbeat says whether the gateway's clock is
   synchronised (``clock``) and what the cloud refused for good (``outbox_failed``,
   ``failed``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION: Literal[2] = 2

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
]


class Severity(StrEnum):
    """How urgently a person must act."""

    CRITICAL = "critical"  # SOS, confirmed fall
    HIGH = "high"  # long inactivity, vital signs out of range
    WARNING = "warning"  # device offline, battery low, off-wrist for long, tamper
    INFO = "info"  # hints and commissioning tests

    @property
    def rank(self) -> int:
        """0 for the most urgent; sorts outboxes and queues."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.WARNING: 2, Severity.INFO: 3}


class AlarmKind(StrEnum):
    """What happened. The detector that raises it is named in ``Alarm.detector``."""

    FALL = "fall"
    RADAR_FALL = "radar_fall"
    FALL_RECOVERED = "fall_recovered"  # a fall the wearer got straight back up from: a hint
    SOS = "sos"
    INACTIVITY = "inactivity"
    NOT_UP = "not_up"
    NIGHT_WANDERING = "night_wandering"
    BATHROOM_DWELL = "bathroom_dwell"
    HEART_RATE_HIGH = "heart_rate_high"
    HEART_RATE_LOW = "heart_rate_low"
    SPO2_LOW = "spo2_low"
    DEVICE_OFFLINE = "device_offline"
    BATTERY_LOW = "battery_low"
    TAMPER = "tamper"
    OFF_WRIST = "off_wrist"
    GATEWAY_OFFLINE = "gateway_offline"
    ZIGBEE_OFFLINE = "zigbee_offline"  # the home's Zigbee2MQTT bridge is offline
    SENSOR_SILENT = "sensor_silent"  # a sensor silent while the home is active: for installers
    DELIVERY_FAILED = "delivery_failed"  # raised by the cloud: a gateway holds refused alarms
    TEST = "test"


DEFAULT_SEVERITY: dict[AlarmKind, Severity] = {
    AlarmKind.FALL: Severity.CRITICAL,
    AlarmKind.RADAR_FALL: Severity.CRITICAL,
    AlarmKind.FALL_RECOVERED: Severity.INFO,
    AlarmKind.SOS: Severity.CRITICAL,
    AlarmKind.INACTIVITY: Severity.HIGH,
    AlarmKind.NOT_UP: Severity.HIGH,
    AlarmKind.NIGHT_WANDERING: Severity.HIGH,
    AlarmKind.BATHROOM_DWELL: Severity.HIGH,
    AlarmKind.HEART_RATE_HIGH: Severity.HIGH,
    AlarmKind.HEART_RATE_LOW: Severity.HIGH,
    AlarmKind.SPO2_LOW: Severity.HIGH,
    AlarmKind.DEVICE_OFFLINE: Severity.WARNING,
    AlarmKind.BATTERY_LOW: Severity.WARNING,
    AlarmKind.TAMPER: Severity.WARNING,
    AlarmKind.OFF_WRIST: Severity.WARNING,
    AlarmKind.GATEWAY_OFFLINE: Severity.WARNING,
    AlarmKind.ZIGBEE_OFFLINE: Severity.WARNING,
    AlarmKind.SENSOR_SILENT: Severity.WARNING,
    AlarmKind.DELIVERY_FAILED: Severity.HIGH,
    AlarmKind.TEST: Severity.INFO,
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def from_epoch(ts: float) -> datetime:
    """Epoch seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


def new_id() -> str:
    """A fresh idempotency id."""
    return str(uuid.uuid4())


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    schema_version: Literal[1, 2] = Field(
        default=SCHEMA_VERSION, description="Version of this contract (see the module)."
    )


class Evidence(BaseModel):
    """One reading (or a summary of a block) that supports an alarm."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: Identifier
    kind: str = Field(description="Reading kind, e.g. accel, heart_rate, motion.")
    ts: AwareDatetime
    value: float | bool | str | None = None
    summary: dict[str, float] = Field(
        default_factory=dict, description="Block summary, e.g. peak_g, stillness_s."
    )
    clock_suspect: bool = Field(
        default=False,
        description="The device's time was implausible; ts is the gateway's receive time.",
    )


class Alarm(_Envelope):
    """An alarm raised on a gateway."""

    alarm_id: Identifier = Field(
        description="Random id chosen once by the gateway; with gateway_id, the idempotency key."
    )
    gateway_id: Identifier
    home_id: Identifier
    device_id: Identifier | None = Field(default=None, description="Device at the origin, if any.")
    kind: AlarmKind
    severity: Severity
    raised_at: AwareDatetime = Field(description="Event time of the condition.")
    detector: str = Field(max_length=64, description="Detector that raised it.")
    message: str = Field(default="", max_length=500)
    room: str | None = Field(default=None, max_length=64)
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)
    details: dict[str, float | int | str | bool] = Field(default_factory=dict)
    clock_suspect: bool = Field(
        default=False,
        description="raised_at comes from a clock not to be trusted (a device's time replaced"
        " by the receive time, or the gateway's own clock unsynchronised).",
    )


class AlarmAction(StrEnum):
    """What an update does to an open alarm."""

    UPDATE = "update"  # new evidence or a new severity (e.g. fall then no motion)
    CLEAR = "clear"  # the condition ended by itself
    CANCEL = "cancel"  # the resident cancelled it on the device


class AlarmUpdate(_Envelope):
    """A change to an alarm already raised: more evidence, new severity, clear, cancel."""

    update_id: Identifier
    alarm_id: Identifier
    gateway_id: Identifier
    action: AlarmAction
    ts: AwareDatetime
    severity: Severity | None = None
    reason: str = Field(default="", max_length=500)
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)


class TelemetryPoint(BaseModel):
    """One per-minute aggregate of one metric of one device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    minute: AwareDatetime = Field(description="Start of the minute (event time).")
    device_id: Identifier
    metric: str = Field(max_length=32, description="Reading kind, e.g. heart_rate, motion.")
    room: str | None = Field(default=None, max_length=64)
    count: int = Field(ge=0)
    min: float | None = None
    mean: float | None = None
    max: float | None = None


class TelemetryBatch(_Envelope):
    """Per-minute aggregates from one gateway; the gateway never ships raw samples."""

    batch_id: Identifier
    gateway_id: Identifier
    home_id: Identifier
    points: list[TelemetryPoint] = Field(max_length=5000)


class ClockState(BaseModel):
    """Whether the gateway's own clock can be trusted (a Raspberry Pi has no RTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    synchronized: bool | None = Field(
        description="NTP-synchronised (or agreeing with the cloud); None: nobody could say."
    )
    source: str = Field(max_length=32, description="timedatectl, chrony, cloud or none.")
    offset_s: float | None = Field(
        default=None, description="The cloud's Date header minus the gateway's clock, s."
    )


class FailedDelivery(BaseModel):
    """An envelope the cloud refused for a reason the gateway could not mend; kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier
    table: Literal["alarms", "updates", "telemetry"]
    kind: str | None = Field(default=None, max_length=32)
    severity: Severity | None = None
    error: str = Field(max_length=500)


class GatewayHeartbeat(_Envelope):
    """A gateway's periodic health report."""

    gateway_id: Identifier
    home_id: Identifier
    ts: AwareDatetime
    version: str = Field(max_length=32)
    uptime_s: float = Field(ge=0)
    broker_connected: bool
    queue_depths: dict[str, int] = Field(default_factory=dict)
    outbox_pending: int = Field(ge=0)
    quarantine_count: int = Field(ge=0)
    disk_free_mb: float | None = None
    cpu_temp_c: float | None = None
    devices_online: int | None = None
    devices_total: int | None = None
    clock: ClockState | None = None
    outbox_failed: int = Field(default=0, ge=0, description="Envelopes refused for good, kept.")
    failed: list[FailedDelivery] = Field(
        default_factory=list, max_length=20, description="The latest of them."
    )


class IngestRejection(BaseModel):
    """Why one item of a batch was refused."""

    id: str
    error: str


class IngestAck(BaseModel):
    """The cloud's answer to a batch: the same for a redelivery as for the first delivery."""

    accepted: list[str] = Field(default_factory=list, description="Ids stored by this request.")
    duplicates: list[str] = Field(default_factory=list, description="Ids stored before.")
    rejected: list[IngestRejection] = Field(default_factory=list)

    def delivered(self) -> set[str]:
        """Ids the gateway may mark delivered (stored now or before)."""
        return set(self.accepted) | set(self.duplicates)


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of an envelope."""
    return model.model_dump(mode="json")
