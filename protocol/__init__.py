"""The edge↔cloud contract: readings, alarm envelopes, telemetry, heartbeats, home manifests."""

from protocol.envelopes import (
    SCHEMA_VERSION,
    Alarm,
    AlarmAction,
    AlarmKind,
    AlarmUpdate,
    Evidence,
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
    "Coordinates",
    "Evidence",
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
