"""The gateway's configuration: one strict pydantic model, documented field by field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from edge import BUILD_DATE
from edge.detectors import DetectorsConfig
from protocol import AlarmKind, PairedDevice, Severity


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_url(value: str, schemes: tuple[str, ...], what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{what} must look like {schemes[0]}://host[:port], got {value!r}")
    return value


class BrokerConfig(_Section):
    """The local MQTT broker the devices publish to."""

    url: str = Field(
        default="mqtt://127.0.0.1:1883",
        title="Broker URL",
        description="mqtt://host:port of the gateway's local Mosquitto.",
    )
    username: str | None = Field(
        default=None, title="Username", description="The gateway's own broker login, if any."
    )
    password: SecretStr | None = Field(
        default=None, title="Password", description="Password for `username`."
    )
    client_id: str | None = Field(
        default=None,
        title="Client id",
        description="MQTT client id; default carewatch-gw-<gateway_id>. Stable so the broker "
        "keeps the session (QoS 1 messages queued while the gateway restarts).",
    )
    qos: Literal[0, 1] = Field(default=1, title="QoS", description="Subscription QoS.")
    session_expiry_s: int = Field(
        default=7 * 86400,
        ge=60,
        le=0xFFFFFFFF,
        title="Session expiry",
        description="How long the broker keeps the gateway's MQTT 5 session (subscriptions, "
        "queued messages) while the gateway is away, seconds; a week by default.",
    )
    takeover_limit: int = Field(
        default=3,
        ge=1,
        title="Take-over limit",
        description="Take-overs of the session by another client with the same client id (a "
        "second gateway) in a row after which the gateway stops with an error naming it.",
    )
    topic_prefix: str = Field(
        default="",
        max_length=64,
        pattern=r"^([A-Za-z0-9_.\-]+/)*$",
        title="Topic prefix",
        description="For a broker shared by several homes (e.g. one per building): the gateway "
        "subscribes under this prefix (ending in '/') and strips it before routing. Empty on "
        "a home's own broker.",
    )
    keepalive_s: int = Field(
        default=30, ge=5, le=600, title="Keep-alive", description="MQTT keep-alive, seconds."
    )
    reconnect_min_s: float = Field(
        default=0.5, gt=0, title="Reconnect min", description="First reconnect delay, seconds."
    )
    reconnect_max_s: float = Field(
        default=30.0, gt=0, title="Reconnect max", description="Longest reconnect delay, seconds."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v, ("mqtt", "mqtts"), "broker.url")


class CloudConfig(_Section):
    """The cloud service the gateway reports to."""

    url: str | None = Field(
        default=None,
        title="Cloud URL",
        description="Base URL, e.g. https://care.example.org; unset keeps everything in the "
        "outbox until it is set.",
    )
    credential: SecretStr | None = Field(
        default=None,
        title="Credential",
        description="cwg_<gateway_id>.<secret>; the env var CAREWATCH_GATEWAY_CREDENTIAL wins.",
    )
    credential_file: Path | None = Field(
        default=None, title="Credential file", description="File holding the credential."
    )
    timeout_s: float = Field(
        default=10.0, gt=0, title="Timeout", description="HTTP timeout per request, seconds."
    )
    batch_size: int = Field(
        default=50, ge=1, le=500, title="Batch size", description="Envelopes per request."
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        title="Largest request",
        description="Bytes the cloud takes in one request (its CAREWATCH_MAX_BODY_BYTES); "
        "batches are cut to stay within it.",
    )
    backoff_min_s: float = Field(
        default=1.0, gt=0, title="Backoff min", description="First retry delay, seconds."
    )
    backoff_max_s: float = Field(
        default=300.0, gt=0, title="Backoff max", description="Longest retry delay, seconds."
    )
    auth_retry_s: float = Field(
        default=600.0,
        gt=0,
        title="Auth retry",
        description="Wait after the cloud refused the credential (401/403), seconds.",
    )
    heartbeat_s: float = Field(
        default=60.0, gt=0, title="Heartbeat", description="Heartbeat period, wall seconds."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_url(v, ("https", "http"), "cloud.url")


class ClockConfig(_Section):
    """Where time-based detector timers take their `now` from."""

    source: Literal["wall", "sim"] = Field(
        default="wall",
        title="Clock source",
        description="wall: the system clock; sim: the simulator's clock topic.",
    )
    tick_s: float = Field(
        default=1.0,
        gt=0,
        title="Tick",
        description="Timer period in clock seconds (simulated seconds under `sim`).",
    )
    earliest_device_time: date = Field(
        default=date.fromisoformat(BUILD_DATE),
        title="Earliest device time",
        description="A reading stamped before this (the gateway's build date) gets the"
        " receive time and is marked clock_suspect.",
    )
    device_max_ahead_s: float = Field(
        default=300.0,
        gt=0,
        title="Device time ahead",
        description="A reading stamped more than this after its receive time is re-stamped.",
    )
    device_max_behind_s: float = Field(
        default=86400.0,
        gt=0,
        title="Device time behind",
        description="A reading stamped more than this before its receive time is re-stamped.",
    )

    def earliest_epoch(self) -> float:
        """``earliest_device_time`` as epoch seconds (UTC midnight)."""
        return datetime.combine(self.earliest_device_time, datetime.min.time(), UTC).timestamp()


class AlarmsConfig(_Section):
    """How detections become alarms."""

    severity: dict[AlarmKind, Severity] = Field(
        default_factory=dict,
        title="Severity overrides",
        description="Per kind, replaces protocol.DEFAULT_SEVERITY.",
    )
    fall_confirm_score: float = Field(
        default=0.9,
        ge=0,
        le=1,
        title="Fall confirm score",
        description="A fall scored below this starts at `high` until confirmed.",
    )
    fall_stillness_s: float = Field(
        default=120.0,
        gt=0,
        title="Fall stillness",
        description="No motion for this long after a fall raises it to critical (event time).",
    )
    repeat_update_s: float = Field(
        default=300.0,
        ge=0,
        title="Repeat update",
        description="A repeated detection sends an update at most this often (event time).",
    )
    away_suppresses: list[AlarmKind] = Field(
        default_factory=lambda: [
            AlarmKind.INACTIVITY,
            AlarmKind.NOT_UP,
            AlarmKind.NIGHT_WANDERING,
            AlarmKind.BATHROOM_DWELL,
            AlarmKind.RADAR_FALL,
            AlarmKind.OFF_WRIST,
        ],
        title="Suppressed when away",
        description="Kinds not raised while the resident is marked away.",
    )
    maintenance_devices: list[str] = Field(
        default_factory=list,
        title="Maintenance",
        description="Devices in maintenance: their alarms (except SOS) are suppressed.",
    )
    resident_away: bool = Field(
        default=False,
        title="Away",
        description="Resident away at start-up (the `mode` command changes it at run time).",
    )


class QueuesConfig(_Section):
    """Bounds of the queues between pipeline stages."""

    raw: int = Field(
        default=2000, ge=10, title="raw", description="ingest→decode; full: ingest waits."
    )
    readings: int = Field(
        default=2000,
        ge=10,
        title="readings",
        description="decode→detect, one item per message; full: decode waits.",
    )
    detections: int = Field(
        default=1000, ge=10, title="detections", description="detect→alarms; full: detect waits."
    )
    records: int = Field(
        default=1000,
        ge=10,
        title="records",
        description="→outbox; full: alarms and updates wait (never dropped), telemetry "
        "batches and quarantine rows are dropped and counted.",
    )


class StorageConfig(_Section):
    """How much the gateway keeps on the SD card."""

    quarantine_keep: int = Field(
        default=1000, ge=10, title="Quarantine rows", description="Newest rows kept."
    )
    quarantine_payload_bytes: int = Field(
        default=512, ge=16, title="Payload bytes", description="Payload bytes kept per row."
    )
    telemetry_keep: int = Field(
        default=10080,
        ge=10,
        title="Telemetry batches",
        description="Undelivered minute batches kept (a week); older ones dropped and counted.",
    )
    delivered_keep_days: float = Field(
        default=30.0, gt=0, title="History", description="Delivered alarms kept this long."
    )
    state_save_s: float = Field(
        default=60.0, gt=0, title="State save", description="Detector state saved this often."
    )


class ProfilesConfig(_Section):
    """Where the device profiles come from."""

    extra_dirs: list[Path] = Field(
        default_factory=list,
        title="Extra profile directories",
        description="Directories of profile files (<id>.yaml) loaded beside the built-in "
        "library, e.g. a device maker's; relative to this file. An id or Zigbee2MQTT model "
        "defined twice stops start-up.",
    )


class GatewayConfig(_Section):
    """A gateway: its home, its broker, its cloud, where it keeps data."""

    model_config = ConfigDict(extra="forbid", title="carewatch gateway")

    home: Path | None = Field(
        default=None,
        title="Home manifest",
        description="The home manifest (paired devices, resident); relative to this file.",
    )
    devices: list[PairedDevice] = Field(
        default_factory=list,
        title="Extra devices",
        description="Devices paired on this gateway beyond the manifest's (`pair` adds here).",
    )
    data_dir: Path = Field(
        default=Path("/var/lib/carewatch"),
        title="Data directory",
        description="Outbox, quarantine and detector state live here.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", title="Log level", description="Root log level."
    )
    broker: BrokerConfig = Field(default_factory=BrokerConfig, title="Broker", description="MQTT.")
    cloud: CloudConfig = Field(default_factory=CloudConfig, title="Cloud", description="Uplink.")
    clock: ClockConfig = Field(default_factory=ClockConfig, title="Clock", description="Timers.")
    alarms: AlarmsConfig = Field(
        default_factory=AlarmsConfig, title="Alarms", description="Alarm policy."
    )
    queues: QueuesConfig = Field(
        default_factory=QueuesConfig, title="Queues", description="Queue bounds."
    )
    storage: StorageConfig = Field(
        default_factory=StorageConfig, title="Storage", description="SD-card budget."
    )
    profiles: ProfilesConfig = Field(
        default_factory=ProfilesConfig, title="Profiles", description="Device profiles."
    )
    detectors: DetectorsConfig = Field(
        default_factory=DetectorsConfig,
        title="Detectors",
        description="Settings of every detector (edge.detectors.DetectorsConfig).",
    )
