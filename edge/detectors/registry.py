"""Explicit registration of detector types (each declares where it applies and how it is
built), the gateway's detector configuration, and the factory that builds one home's bank
from its manifest and the firmware profiles."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.detectors.base import Detector, DetectorBank
from edge.detectors.bathroom_dwell import BathroomDwellConfig, BathroomDwellDetector
from edge.detectors.device_health import DeviceHealthConfig, DeviceHealthDetector
from edge.detectors.fall import FallConfig, FallDetector, waist_defaults
from edge.detectors.home import HomeContext
from edge.detectors.inactivity import InactivityConfig, InactivityDetector
from edge.detectors.night_wandering import NightWanderingConfig, NightWanderingDetector
from edge.detectors.radar_fall import RadarFallConfig, RadarFallDetector
from edge.detectors.sensor_silence import SensorSilenceConfig, SensorSilenceDetector
from edge.detectors.sos import SosConfig, SosDetector
from edge.detectors.vitals import VitalsConfig, VitalsDetector
from edge.detectors.zigbee_bridge import ZigbeeBridgeDetector
from protocol import HomeManifest, ReadingKind
from protocol.readings import Kind

if TYPE_CHECKING:
    from firmware_profiles.library import ProfileLibrary
    from firmware_profiles.profile import DeviceProfile

log = logging.getLogger(__name__)

HOME_ACTIVITY_FAMILIES = frozenset({"motion", "radar", "door"})
VITAL_KINDS = frozenset({ReadingKind.HEART_RATE, ReadingKind.SPO2})


class DetectorsConfig(BaseModel):
    """Every detector the gateway runs; the defaults are what it runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fall_wrist: FallConfig = Field(
        default_factory=FallConfig,
        title="Wrist fall",
        description="Fall detector for wearables (family wearable) with an accelerometer.",
    )
    fall_waist: FallConfig = Field(
        default_factory=waist_defaults,
        title="Waist fall",
        description="Fall detector for belt-clip / pendant sensors (family fall_pendant); "
        "fields given here override the waist defaults, the others keep them.",
    )
    radar_fall: RadarFallConfig = Field(
        default_factory=RadarFallConfig,
        title="Radar fall",
        description="Confirmation of a radar's fall flag.",
    )
    sos: SosConfig = Field(
        default_factory=SosConfig, title="SOS", description="SOS buttons and band SOS keys."
    )
    vitals: VitalsConfig = Field(
        default_factory=VitalsConfig, title="Vitals", description="Heart rate and SpO2."
    )
    device_health: DeviceHealthConfig = Field(
        default_factory=DeviceHealthConfig,
        title="Device health",
        description="Offline, battery, tamper, off-wrist for every paired device.",
    )
    inactivity: InactivityConfig = Field(
        default_factory=InactivityConfig,
        title="Inactivity",
        description="Home-wide inactivity against the learned routine, and not-up.",
    )
    sensor_silence: SensorSilenceConfig = Field(
        default_factory=SensorSilenceConfig,
        title="Sensor silence",
        description="A sensor silent while the home is active elsewhere (for installers); "
        "inactivity stops learning from the home while one is.",
    )
    night_wandering: NightWanderingConfig = Field(
        default_factory=NightWanderingConfig,
        title="Night wandering",
        description="Front door opened at night and the resident gone out.",
    )
    bathroom_dwell: BathroomDwellConfig = Field(
        default_factory=BathroomDwellConfig,
        title="Bathroom dwell",
        description="A bathroom stay far longer than usual.",
    )

    @field_validator("fall_waist", mode="before")
    @classmethod
    def _over_waist_defaults(cls, value: Any) -> Any:
        """A partial ``fall_waist`` keeps the waist defaults for what it does not set."""
        if isinstance(value, dict):
            return {**waist_defaults().model_dump(exclude_unset=True), **value}
        return value


def _battery_curve(prof: Any) -> tuple[tuple[float, float], ...]:
    """(volts, percent) points of a profile's battery curve, ascending volts."""
    points = getattr(prof.spec, "battery_curve", None) or []
    return tuple(sorted((float(v), float(p)) for v, p in points))


@dataclass(frozen=True)
class DeviceSite:
    """One paired device as a per-device detector sees it: ids, room and profile."""

    device_id: str
    room: str
    profile: DeviceProfile

    @property
    def kinds(self) -> frozenset[Kind]:
        """What the device reports."""
        return frozenset(self.profile.kinds)


@dataclass(frozen=True)
class HomeSite:
    """The home as a home-wide detector sees it."""

    context: HomeContext
    families: frozenset[str]  # the families of its paired devices
    bridges: frozenset[str]  # the Zigbee2MQTT base topics its devices come through


@dataclass(frozen=True)
class Registration:
    """A detector type: where it applies (each paired device, the home once, or each
    Zigbee2MQTT bridge the home's devices use) and how it is built there; ``applies`` and
    ``build`` get the gateway's whole ``DetectorsConfig`` and a ``DeviceSite``, the
    ``HomeSite`` or the bridge's base topic."""

    detector: type[Detector]
    scope: Literal["device", "home", "bridge"]
    applies: Callable[[DetectorsConfig, Any], bool]
    build: Callable[[DetectorsConfig, Any], Detector]


def _fall_config(cfg: DetectorsConfig, site: DeviceSite) -> FallConfig:
    return cfg.fall_wrist if site.profile.family == "wearable" else cfg.fall_waist


def _home_activity(site: HomeSite) -> bool:
    return bool(site.families & HOME_ACTIVITY_FAMILIES)


REGISTRATIONS: tuple[Registration, ...] = (
    Registration(
        FallDetector,
        "device",
        lambda c, s: (
            s.profile.family in ("wearable", "fall_pendant")
            and ReadingKind.ACCEL in s.kinds
            and _fall_config(c, s).enabled
        ),
        lambda c, s: FallDetector(
            _fall_config(c, s),
            device_id=s.device_id,
            room=s.room,
            sample_rate_hz=s.profile.sample_rate_hz,
        ),
    ),
    Registration(
        VitalsDetector,
        "device",
        lambda c, s: (
            c.vitals.enabled and bool(s.kinds & {ReadingKind.HEART_RATE, ReadingKind.SPO2})
        ),
        lambda c, s: VitalsDetector(c.vitals, device_id=s.device_id, room=s.room),
    ),
    Registration(
        SosDetector,
        "device",
        lambda c, s: c.sos.enabled and ReadingKind.SOS in s.kinds,
        lambda c, s: SosDetector(c.sos, device_id=s.device_id, room=s.room),
    ),
    Registration(
        RadarFallDetector,
        "device",
        lambda c, s: c.radar_fall.enabled and ReadingKind.RADAR_FALL in s.kinds,
        lambda c, s: RadarFallDetector(c.radar_fall, device_id=s.device_id, room=s.room),
    ),
    Registration(
        DeviceHealthDetector,
        "device",
        lambda c, s: c.device_health.enabled,
        lambda c, s: DeviceHealthDetector(
            c.device_health,
            device_id=s.device_id,
            room=s.room,
            heartbeat_interval_s=s.profile.heartbeat_interval_s,
            offline_timeout_s=s.profile.offline_timeout_s,
            bridge_base=s.profile.zigbee2mqtt_base,
            battery_curve=_battery_curve(s.profile),
        ),
    ),
    Registration(
        InactivityDetector,
        "home",
        lambda c, s: c.inactivity.enabled and _home_activity(s),
        lambda c, s: InactivityDetector(c.inactivity, home=s.context, sensors=c.sensor_silence),
    ),
    Registration(
        SensorSilenceDetector,
        "home",
        lambda c, s: c.sensor_silence.enabled and _home_activity(s),
        lambda c, s: SensorSilenceDetector(c.sensor_silence, home=s.context),
    ),
    Registration(
        NightWanderingDetector,
        "home",
        lambda c, s: (
            c.night_wandering.enabled and _home_activity(s) and bool(s.context.front_doors)
        ),
        lambda c, s: NightWanderingDetector(c.night_wandering, home=s.context),
    ),
    Registration(
        BathroomDwellDetector,
        "home",
        lambda c, s: (
            c.bathroom_dwell.enabled
            and _home_activity(s)
            and bool(set(c.bathroom_dwell.rooms) & set(s.context.rooms.values()))
        ),
        lambda c, s: BathroomDwellDetector(c.bathroom_dwell, home=s.context),
    ),
    Registration(
        ZigbeeBridgeDetector,
        "bridge",
        lambda c, base: True,
        lambda c, base: ZigbeeBridgeDetector(bridge_base=base),
    ),
)
# the reading-driven types (each has a contract-suite scenario); the bridge watch is driven
# by Zigbee2MQTT's bridge state, not by readings
REGISTRY: dict[str, type[Detector]] = {
    r.detector.type: r.detector for r in REGISTRATIONS if r.scope != "bridge"
}


def build_bank(
    home: HomeManifest, library: ProfileLibrary, config: DetectorsConfig | None = None
) -> DetectorBank:
    """The detectors of one home, from ``REGISTRATIONS``: each per-device type on every
    paired device it applies to (in the manifest's order), then each home-wide type once.

    Wearables get wrist fall (if they stream accel), vitals (heart rate / SpO2) and SOS (if
    they have the key); fall pendants waist fall and SOS; radars radar fall; buttons SOS;
    every device device health. Inactivity, night wandering and bathroom dwell watch the
    whole home as soon as it has a motion, radar or door device; a home with Zigbee2MQTT
    devices gets one Zigbee bridge watch per bridge.
    """
    cfg = config or DetectorsConfig()
    sites = [DeviceSite(d.device_id, d.room, library.get(d.profile)) for d in home.devices]
    home_site = HomeSite(
        HomeContext.from_manifest(home),
        frozenset(s.profile.family for s in sites),
        frozenset(b for s in sites if (b := s.profile.zigbee2mqtt_base) is not None),
    )
    dets: list[Detector] = []
    for site in sites:
        dets += [
            r.build(cfg, site)
            for r in REGISTRATIONS
            if r.scope == "device" and r.applies(cfg, site)
        ]
    dets += [
        r.build(cfg, home_site)
        for r in REGISTRATIONS
        if r.scope == "home" and r.applies(cfg, home_site)
    ]
    dets += [
        r.build(cfg, base)
        for base in sorted(home_site.bridges)
        for r in REGISTRATIONS
        if r.scope == "bridge" and r.applies(cfg, base)
    ]
    log.info("home %s: %d detectors", home.home_id, len(dets))
    return DetectorBank(dets)
