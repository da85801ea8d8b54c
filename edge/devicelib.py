"""The device library as the gateway uses it (firmware_profiles), typed as protocols."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from protocol import Reading


class DeviceProfile(Protocol):
    """One device model: which topics it uses and how its payloads decode."""

    family: str
    heartbeat_interval_s: float

    def subscription(self) -> str:
        """The MQTT filter the model publishes under."""
        ...

    def device_id_from_topic(self, topic: str) -> str | None:
        """The device id inside ``topic``, or None when the topic is not this model's."""
        ...

    def decode(self, topic: str, payload: bytes, *, received_at: float) -> list[Reading]:
        """Normalized readings of one message; raises the library's DecodeError."""
        ...


class DeviceLibrary(Protocol):
    """All known device profiles."""

    def get(self, profile_id: str) -> Any:
        """The profile with this id; KeyError (ProfileNotFound) if unknown."""
        ...

    def match(self, topic: str, payload: bytes) -> Iterable[Any]:
        """Profiles whose topic and payload fit a message, best first."""
        ...


def load_library() -> DeviceLibrary:
    """The installed device library (firmware_profiles)."""
    from firmware_profiles import load_library as _load

    lib: DeviceLibrary = _load()
    return lib


def decode_errors() -> tuple[type[Exception], ...]:
    """Exceptions that mean "this payload does not decode"."""
    try:
        from firmware_profiles import DecodeError
    except ImportError:  # library not installed yet: treat value errors as decode faults
        return (ValueError, KeyError, TypeError)
    return (DecodeError, ValueError, KeyError, TypeError)
