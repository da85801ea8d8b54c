"""Topic → paired device → profile, from one precomputed table."""

from __future__ import annotations

from dataclasses import dataclass

from edge import zigbee2mqtt
from firmware_profiles import DeviceProfile, ProfileLibrary
from protocol import HomeManifest, PairedDevice


class UnknownProfileError(ValueError):
    """A paired device names a profile the library does not have."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a topic's messages go: the paired device and its profile; ``availability``
    when the topic is the device's online/offline topic rather than its data."""

    device: PairedDevice
    profile: DeviceProfile
    availability: bool = False


class Router:
    """Subscriptions and per-topic routes for the paired devices of one home."""

    def __init__(self, home: HomeManifest, library: ProfileLibrary, *, cache_size: int = 4096):
        self.profiles: dict[str, DeviceProfile] = {}
        self._paired: dict[tuple[str, str], PairedDevice] = {}
        for dev in home.devices:
            try:
                prof = library.get(dev.profile)
            except KeyError as exc:
                raise UnknownProfileError(f"paired device {dev.device_id!r}: {exc}") from exc
            self.profiles[dev.profile] = prof
            self._paired[(dev.profile, dev.device_id)] = dev
        # One filter can serve several profiles (zigbee2mqtt/+); each is tried in turn.
        self.by_filter: dict[str, list[DeviceProfile]] = {}
        # Zigbee2MQTT bridge topics (<base>/bridge/state, .../devices) -> (base, topic).
        self.bridge_topics: dict[str, tuple[str, str]] = {}
        for prof in self.profiles.values():
            for topic_filter in prof.subscriptions():
                self.by_filter.setdefault(topic_filter, []).append(prof)
            avail = prof.availability_subscription()
            if avail is not None:
                self.by_filter.setdefault(avail, []).append(prof)
            base = prof.zigbee2mqtt_base
            if base is not None:
                for sub in (zigbee2mqtt.STATE, zigbee2mqtt.DEVICES):
                    self.bridge_topics[f"{base}/{sub}"] = (base, sub)
        for topic in self.bridge_topics:
            self.by_filter.setdefault(topic, [])
        self._cache: dict[str, Route | None] = {}
        self._cache_size = cache_size

    @property
    def subscriptions(self) -> list[str]:
        """MQTT filters covering every paired device."""
        return sorted(self.by_filter)

    def route(self, topic: str) -> Route | None:
        """The paired device publishing on ``topic``, or None for an unknown device."""
        if topic in self._cache:
            return self._cache[topic]
        found: Route | None = None
        for profile_id, prof in self.profiles.items():
            device_id = prof.device_id_from_topic(topic)
            availability = device_id is None
            if availability:
                device_id = prof.device_id_from_availability_topic(topic)
            if device_id is None:
                continue
            dev = self._paired.get((profile_id, device_id))
            if dev is not None:
                found = Route(dev, prof, availability)
                break
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[topic] = found
        return found

    def device_id_guess(self, topic: str) -> str | None:
        """A device id some known profile reads from ``topic`` (for quarantine rows)."""
        for prof in self.profiles.values():
            device_id = prof.device_id_from_topic(topic) or prof.device_id_from_availability_topic(
                topic
            )
            if device_id is not None:
                return device_id
        return None

    def zigbee_devices(self, base: str) -> list[tuple[PairedDevice, DeviceProfile]]:
        """Paired devices bridged by the Zigbee2MQTT at ``base``."""
        return [
            (dev, self.profiles[profile_id])
            for (profile_id, _), dev in self._paired.items()
            if self.profiles[profile_id].zigbee2mqtt_base == base
        ]
