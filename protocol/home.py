"""The home manifest: one household, its resident and its paired devices.

The simulator plays a manifest and the gateway reads the same file as its list of paired
devices, so both agree on the home by construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from protocol.envelopes import Identifier
from protocol.yamlfile import FileError, load_model

HourMinute = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]

ManifestError = FileError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Coordinates(_Strict):
    """WGS84 position of the home's front door."""

    lat: float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees.")


class Routine(_Strict):
    """The resident's usual day, as the installer or family describes it."""

    wake: HourMinute = Field(default="07:00", description="Usual time up.")
    sleep: HourMinute = Field(default="22:30", description="Usual bedtime.")
    meals: list[HourMinute] = Field(default_factory=lambda: ["08:00", "12:30", "18:30"])
    outings_per_week: float = Field(default=3.0, ge=0, le=21, description="Trips out of home.")


class Resident(_Strict):
    """The person being watched over."""

    first_name: str = Field(min_length=1, max_length=64)
    last_name: str = Field(default="", max_length=64)
    birth_year: int | None = Field(default=None, ge=1900, le=2030)
    sex: Literal["f", "m", "x"] | None = None
    conditions: list[str] = Field(
        default_factory=list, description="What matters for response, e.g. diabetes, dementia."
    )
    resting_heart_rate: float = Field(default=70.0, ge=30, le=130)
    baseline_spo2: float = Field(default=97.0, ge=80, le=100)
    routine: Routine = Field(default_factory=Routine)


class PairedDevice(_Strict):
    """One device paired to the gateway."""

    device_id: Identifier = Field(description="Id as it appears in the device's MQTT topic.")
    profile: Identifier = Field(description="Firmware profile id, e.g. aqara-rtcgq11lm.")
    room: str = Field(min_length=1, max_length=64, description="Room, e.g. bedroom, bathroom.")
    worn_by: Literal["resident"] | None = Field(
        default=None, description="Set for wearables and pendants worn by the resident."
    )
    front_door: bool = Field(default=False, description="This door contact is the home's exit.")


class HomeManifest(_Strict):
    """One household as the gateway and the simulator both see it."""

    home_id: Identifier
    gateway_id: Identifier
    name: str = Field(default="", max_length=128, description="Label for operators.")
    address: str = Field(default="", max_length=256)
    district: str = Field(default="", max_length=64, description="Grid / district for dispatch.")
    coordinates: Coordinates
    timezone: str = Field(default="UTC", description="IANA zone of the home, e.g. Asia/Shanghai.")
    resident: Resident
    rooms: list[str] = Field(
        default_factory=lambda: ["bedroom", "bathroom", "kitchen", "living_room", "entrance"]
    )
    devices: list[PairedDevice] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_devices(self) -> HomeManifest:
        seen: set[str] = set()
        for dev in self.devices:
            if dev.device_id in seen:
                raise ValueError(f"device_id {dev.device_id!r} is listed twice")
            seen.add(dev.device_id)
            if dev.room not in self.rooms:
                raise ValueError(f"device {dev.device_id!r} is in room {dev.room!r}, not in rooms")
        return self

    def device(self, device_id: str) -> PairedDevice | None:
        """The paired device with this id, or None."""
        return next((d for d in self.devices if d.device_id == device_id), None)


def load_home(path: str | Path) -> HomeManifest:
    """Load a home manifest; a bad file raises ManifestError naming file, line and field."""
    return load_model(path, HomeManifest)
