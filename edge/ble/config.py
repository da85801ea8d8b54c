"""``carewatch-ble``'s configuration: the broker (the gateway's own schema) and the bands."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.config import BrokerConfig
from edge.configfile import load_model_file
from protocol.envelopes import Identifier

BLE_USER = "carewatch-ble"
BLE_TOPIC_PREFIX = "carewatch/ble/"

# A BlueZ/Linux address (AA:BB:CC:DD:EE:FF) or a CoreBluetooth UUID (macOS development).
ADDRESS = (
    r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$"
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BluetoothConfig(_Section):
    """How the bridge talks to the bands."""

    adapter: str | None = Field(
        default=None, title="Adapter", description="BlueZ adapter, e.g. hci0; default: the first."
    )
    connect_timeout_s: float = Field(
        default=20.0, gt=0, title="Connect timeout", description="Longest wait to connect, s."
    )
    response_timeout_s: float = Field(
        default=10.0,
        gt=0,
        title="Response timeout",
        description="Longest wait for a Polar control point answer, s.",
    )
    reconnect_min_s: float = Field(
        default=2.0, gt=0, title="Reconnect min", description="First reconnect delay, s."
    )
    reconnect_max_s: float = Field(
        default=120.0, gt=0, title="Reconnect max", description="Longest reconnect delay, s."
    )
    battery_poll_s: float = Field(
        default=900.0,
        gt=0,
        title="Battery poll",
        description="Battery level read this often when the band does not notify it, s.",
    )


class BleDevice(_Section):
    """One band: its address, the device id it publishes as, and its profile."""

    address: str = Field(pattern=ADDRESS, description="Bluetooth address, AA:BB:CC:DD:EE:FF.")
    device_id: Identifier = Field(description="Device id in the home manifest and the topic.")
    profile: Identifier = Field(description="A carewatch-ble profile, e.g. polar-h10.")
    accel_range_g: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Accelerometer range asked of the sensor, g "
        "(the largest offered if it does not offer this one).",
    )


class BleBridgeConfig(_Section):
    """The bridge: which bands, which broker."""

    model_config = ConfigDict(extra="forbid", title="carewatch-ble bridge")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", title="Log level", description="Root log level."
    )
    broker: BrokerConfig = Field(
        default_factory=lambda: BrokerConfig(client_id=BLE_USER),
        title="Broker",
        description="The home's Mosquitto, same fields as the gateway's; log in as "
        f"{BLE_USER!r} (`carewatch-gateway broker-auth` creates it).",
    )
    bluetooth: BluetoothConfig = Field(default_factory=BluetoothConfig, title="Bluetooth")
    queue: int = Field(
        default=5000,
        ge=10,
        title="Queue",
        description="Messages held while the broker is "
        "away; when full the oldest is dropped and counted.",
    )
    devices: list[BleDevice] = Field(min_length=1, title="Devices", description="The bands.")

    @model_validator(mode="after")
    def _unique(self) -> BleBridgeConfig:
        for attr, seen in (
            ("address", [d.address.upper() for d in self.devices]),
            ("device_id", [d.device_id for d in self.devices]),
        ):
            dup = sorted({v for v in seen if seen.count(v) > 1})
            if dup:
                raise ValueError(f"devices: {attr} repeats: {', '.join(dup)}")
        return self


def load_ble_config(path: str | Path) -> BleBridgeConfig:
    """Load the bridge config (``.toml``, else YAML); errors name the file, line and field."""
    return load_model_file(path, BleBridgeConfig)
