"""Device library: one declarative profile per device model, and the codec for their payloads."""

from firmware_profiles.errors import (
    DecodeError,
    EncodeError,
    PartialDecodeError,
    ProfileError,
    ProfileNotFound,
)
from firmware_profiles.library import ProfileLibrary, load_library, load_profile
from firmware_profiles.profile import DeviceProfile

__all__ = [
    "DecodeError",
    "DeviceProfile",
    "EncodeError",
    "PartialDecodeError",
    "ProfileError",
    "ProfileLibrary",
    "ProfileNotFound",
    "load_library",
    "load_profile",
]
