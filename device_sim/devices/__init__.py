"""Device models by family: each turns a home's timeline into what one device sends."""

from __future__ import annotations

from collections.abc import Callable

from device_sim.devices.button import button
from device_sim.devices.door import door
from device_sim.devices.motion import pir
from device_sim.devices.radar import radar
from device_sim.devices.wearable import wearable
from device_sim.household import HomeContext
from device_sim.streams import DeviceStreams, ProfileSpec
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

__all__ = ["MODELS", "DeviceModel"]
