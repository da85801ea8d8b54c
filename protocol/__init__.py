"""The edge↔cloud contract: readings, alarm envelopes, telemetry, heartbeats, home manifests."""

from protocol.envelopes import (
    SCHEMA_VERSION,
    Alarm,
    AlarmAction,
    AlarmKind,
    AlarmUpdate,
    ClockState,
    Evidence,
    FailedDelivery,
    GatewayHeartbeat,
    IngestAck,
    IngestRejection,
    Severity,
    TelemetryBatch,
    TelemetryPoint,
)
from protocol.home import (
    Coordinates,
    HomeManifest,
    ManifestError,
    PairedDevice,
    Resident,
    load_home,
)
from protocol.readings import Reading, ReadingKind

__all__ = [
    "SCHEMA_VERSION",
    "Alarm",
    "AlarmAction",
    "AlarmKind",
    "AlarmUpdate",
    "ClockState",
    "Coordinates",
    "Evidence",
    "FailedDelivery",
    "GatewayHeartbeat",
    "HomeManifest",
    "IngestAck",
    "IngestRejection",
    "ManifestError",
    "PairedDevice",
    "Reading",
    "ReadingKind",
    "Resident",
    "Severity",
    "TelemetryBatch",
    "TelemetryPoint",
    "load_home",
]
