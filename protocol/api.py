"""HTTP paths and credentials of the gateway-facing cloud API, shared by edge and cloud."""

from __future__ import annotations

import secrets

API_PREFIX = "/api/v1"

# Gateway endpoints (POST, JSON, ``Authorization: Bearer <credential>``).
ALARMS_PATH = f"{API_PREFIX}/gateway/alarms"  # body: {"alarms": [Alarm, ...]} -> IngestAck
ALARM_UPDATES_PATH = f"{API_PREFIX}/gateway/alarm-updates"  # {"updates": [...]} -> IngestAck
TELEMETRY_PATH = f"{API_PREFIX}/gateway/telemetry"  # body: TelemetryBatch -> IngestAck
HEARTBEAT_PATH = f"{API_PREFIX}/gateway/heartbeat"  # body: GatewayHeartbeat -> {"ok": true}

CREDENTIAL_PREFIX = "cwg_"


class CredentialError(ValueError):
    """A gateway credential that is not of the form ``cwg_<gateway_id>.<secret>``."""


def make_credential(gateway_id: str) -> str:
    """A new credential for a gateway: its id and a random secret."""
    return f"{CREDENTIAL_PREFIX}{gateway_id}.{secrets.token_urlsafe(24)}"


def parse_credential(credential: str) -> tuple[str, str]:
    """Split a credential into (gateway_id, secret)."""
    if not credential.startswith(CREDENTIAL_PREFIX) or "." not in credential:
        raise CredentialError("gateway credential must look like cwg_<gateway_id>.<secret>")
    gateway_id, _, secret = credential[len(CREDENTIAL_PREFIX) :].rpartition(".")
    if not gateway_id or not secret:
        raise CredentialError("gateway credential has an empty gateway id or secret")
    return gateway_id, secret
