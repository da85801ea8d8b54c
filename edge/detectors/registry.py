"""Explicit registration of detector types, the gateway's detector configuration, and the
factory that builds one home's bank from its manifest and the firmware profiles."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.detectors.base import Detector, DetectorBank
from edge.detectors.bathroom_dwell import BathroomDwellConfig, BathroomDwellDetector
from edge.detectors.device_health import DeviceHealthConfig, DeviceHealthDetector
from edge.detectors.fall import FallConfig, FallDetector, waist_defaults
from edge.detectors.home import HomeContext
from edge.detectors.inactivity import InactivityConfig, InactivityDetector
from edge.detectors.night_wandering import NightWanderingConfig, NightWanderingDetector
from edge.detectors.radar_fall import RadarFallConfig, RadarFallDetector
from edge.detectors.sos import SosConfig, SosDetector
from edge.detectors.vitals import VitalsConfig, VitalsDetector
from edge.detectors.zigbee_bridge import ZigbeeBridgeDetector
from protocol import HomeManifest, ReadingKind

if TYPE_CHECKING:
    from firmware_profiles.library import ProfileLibrary

log = logging.getLogger(__name__)

REGISTRY: dict[str, type[Detector]] = {
    FallDetector.type: FallDetector,
    RadarFallDetector.type: RadarFallDetector,
    SosDetector.type: SosDetector,
    VitalsDetector.type: VitalsDetector,
    DeviceHealthDetector.type: DeviceHealthDetector,
    InactivityDetector.type: InactivityDetector,
    NightWanderingDetector.type: NightWanderingDetector,
    BathroomDwellDetector.type: BathroomDwellDetector,
}

HOME_ACTIVITY_FAMILIES = frozenset({"motion", "radar", "door"})


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


def build_bank(
    home: HomeManifest, library: ProfileLibrary, config: DetectorsConfig | None = None
) -> DetectorBank:
    """The detectors of one home: per paired device by its profile's family, and home-wide.

    Wearables get wrist fall (if they stream accel), vitals (heart rate / SpO2) and SOS (if
    they have the key); fall pendants waist fall and SOS; radars radar fall; buttons SOS;
    every device device health. Inactivity, night wandering and bathroom dwell watch the
    whole home as soon as it has a motion, radar or door device; a home with Zigbee2MQTT
    devices gets one Zigbee bridge watch per bridge.
    """
    cfg = config or DetectorsConfig()
    ctx = HomeContext.from_manifest(home)
    dets: list[Detector] = []
    families: set[str] = set()
    bridges: set[str] = set()
    for dev in home.devices:
        prof = library.get(dev.profile)
        families.add(prof.family)
        if prof.zigbee2mqtt_base is not None:
            bridges.add(prof.zigbee2mqtt_base)
        kinds = prof.kinds
        did, room = dev.device_id, dev.room
        if prof.family in ("wearable", "fall_pendant") and ReadingKind.ACCEL in kinds:
            fall_cfg = cfg.fall_wrist if prof.family == "wearable" else cfg.fall_waist
            if fall_cfg.enabled:
                dets.append(
                    FallDetector(
                        fall_cfg, device_id=did, room=room, sample_rate_hz=prof.sample_rate_hz
                    )
                )
        if cfg.vitals.enabled and kinds & {ReadingKind.HEART_RATE, ReadingKind.SPO2}:
            dets.append(VitalsDetector(cfg.vitals, device_id=did, room=room))
        if cfg.sos.enabled and ReadingKind.SOS in kinds:
            dets.append(SosDetector(cfg.sos, device_id=did, room=room))
        if cfg.radar_fall.enabled and ReadingKind.RADAR_FALL in kinds:
            dets.append(RadarFallDetector(cfg.radar_fall, device_id=did, room=room))
        if cfg.device_health.enabled:
            dets.append(
                DeviceHealthDetector(
                    cfg.device_health,
                    device_id=did,
                    room=room,
                    heartbeat_interval_s=prof.heartbeat_interval_s,
                    offline_timeout_s=prof.offline_timeout_s,
                    bridge_base=prof.zigbee2mqtt_base,
                    battery_curve=_battery_curve(prof),
                )
            )
    if families & HOME_ACTIVITY_FAMILIES:
        if cfg.inactivity.enabled:
            dets.append(InactivityDetector(cfg.inactivity, home=ctx))
        if cfg.night_wandering.enabled and ctx.front_doors:
            dets.append(NightWanderingDetector(cfg.night_wandering, home=ctx))
        if cfg.bathroom_dwell.enabled and set(cfg.bathroom_dwell.rooms) & set(ctx.rooms.values()):
            dets.append(BathroomDwellDetector(cfg.bathroom_dwell, home=ctx))
    dets += [ZigbeeBridgeDetector(bridge_base=base) for base in sorted(bridges)]
    log.info("home %s: %d detectors", home.home_id, len(dets))
    return DetectorBank(dets)
