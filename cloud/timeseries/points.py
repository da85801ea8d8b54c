"""InfluxDB measurements and the line protocol of each (built with influxdb-client's Point).

Measurements (see docs/cloud.md):
- ``vitals``: heart_rate, spo2, breathing_rate — tags home_id, device_id, metric[, room];
  fields min, mean, max (float), count (int); one point per device, metric and minute.
- ``activity``: motion, presence, occupancy, door and other behaviour metrics; same shape.
- ``device``: battery, temperature, link quality and anything else; same shape.
- ``gateway_health``: tags gateway_id, home_id; fields from the heartbeat.
- ``alarm_events``: tags home_id, gateway_id, kind, severity, action; fields alarm_id, n.
"""

from __future__ import annotations

from datetime import datetime

from influxdb_client import Point, WritePrecision

from protocol import GatewayHeartbeat, TelemetryBatch, TelemetryPoint

VITALS = frozenset({"heart_rate", "spo2", "breathing_rate"})
ACTIVITY = frozenset(
    {"motion", "occupancy", "presence", "target_state", "door_open", "steps", "sos", "radar_fall"}
)
MS = WritePrecision.MS


def measurement_of(metric: str) -> str:
    """The measurement a telemetry metric is stored in."""
    if metric in VITALS:
        return "vitals"
    if metric in ACTIVITY:
        return "activity"
    return "device"


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def telemetry_line(home_id: str, p: TelemetryPoint) -> str:
    """One per-minute aggregate as a line."""
    point = (
        Point(measurement_of(p.metric))
        .tag("home_id", home_id)
        .tag("device_id", p.device_id)
        .tag("metric", p.metric)
        .field("count", p.count)
        .time(_ms(p.minute), MS)
    )
    if p.room:
        point.tag("room", p.room)
    for name, value in (("min", p.min), ("mean", p.mean), ("max", p.max)):
        if value is not None:
            point.field(name, float(value))
    return str(point.to_line_protocol())


def telemetry_lines(batch: TelemetryBatch, points: list[TelemetryPoint]) -> list[str]:
    """Lines for the accepted points of a batch."""
    return [telemetry_line(batch.home_id, p) for p in points]


def heartbeat_line(hb: GatewayHeartbeat, received_at: datetime) -> str:
    """A gateway health sample, at the time the cloud received it."""
    point = (
        Point("gateway_health")
        .tag("gateway_id", hb.gateway_id)
        .tag("home_id", hb.home_id)
        .field("uptime_s", float(hb.uptime_s))
        .field("broker_connected", hb.broker_connected)
        .field("outbox_pending", hb.outbox_pending)
        .field("quarantine_count", hb.quarantine_count)
        .field("outbox_failed", hb.outbox_failed)
        .time(_ms(received_at), MS)
    )
    if hb.clock is not None and hb.clock.synchronized is not None:
        point.field("clock_synchronized", hb.clock.synchronized)
    optional = {
        "clock_offset_s": hb.clock.offset_s if hb.clock else None,
        "disk_free_mb": hb.disk_free_mb,
        "cpu_temp_c": hb.cpu_temp_c,
        "devices_online": hb.devices_online,
        "devices_total": hb.devices_total,
    }
    for name, value in optional.items():
        if value is not None:
            point.field(name, value)
    return str(point.to_line_protocol())


def alarm_event_line(
    *,
    alarm_id: str,
    home_id: str,
    gateway_id: str,
    kind: str,
    severity: str,
    action: str,
    ts: datetime,
) -> str:
    """One step of an alarm's life, for charts beside the vitals."""
    point = (
        Point("alarm_events")
        .tag("home_id", home_id or "unknown")
        .tag("gateway_id", gateway_id)
        .tag("kind", kind)
        .tag("severity", severity)
        .tag("action", action)
        .field("alarm_id", alarm_id)
        .field("n", 1)
        .time(_ms(ts), MS)
    )
    return str(point.to_line_protocol())
