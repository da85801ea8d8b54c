"""Device models by family: each turns a home's timeline into what one device sends."""

from __future__ import annotations

from collections.abc import Callable

from device_sim.devices.button import button
from device_sim.devices.common import heartbeats
from device_sim.devices.door import door
from device_sim.devices.motion import pir
from device_sim.devices.radar import radar
from device_sim.devices.wearable import wearable
from device_sim.household import HomeContext
from device_sim.streams import BlockStream, DeviceStreams, ProfileSpec
from protocol.home import PairedDevice

DeviceModel = Callable[[HomeContext, PairedDevice, ProfileSpec], DeviceStreams]

MODELS: dict[str, DeviceModel] = {
    "motion": pir,
    "radar": radar,
    "wearable": wearable,
    "fall_pendant": wearable,
    "door": door,
    "button": button,
}


def checkins_only(ctx: HomeContext, dev: PairedDevice, spec: ProfileSpec) -> DeviceStreams:
    """A device of a family declared as data (environment, ...): its check-ins only."""
    hb, _ = heartbeats(ctx, dev, spec)
    return DeviceStreams(dev.device_id, [hb] if hb.values else [], BlockStream([], []))


def model_for(family: str) -> DeviceModel:
    """The model of a family; a family the simulator does not know sends check-ins."""
    return MODELS.get(family, checkins_only)


__all__ = ["MODELS", "DeviceModel", "model_for"]
