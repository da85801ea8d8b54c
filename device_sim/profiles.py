"""Look up each paired device's firmware profile in the shared device library."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from device_sim.streams import ProfileSpec
from protocol.home import HomeManifest


class ProfileLookupError(ValueError):
    """A manifest names a profile the device library does not have."""


_EXTRA_DIRS: list[str] = []


def use_extra_dirs(dirs: Sequence[str]) -> None:
    """Load the profiles of ``dirs`` too (``--extra-dir``), next to the built-in library."""
    _EXTRA_DIRS[:] = list(dirs)
    library.cache_clear()


@lru_cache(maxsize=1)
def library() -> Any:
    """The firmware_profiles library (and any extra directories), loaded once per process."""
    from firmware_profiles import load_library

    return load_library(extra_dirs=_EXTRA_DIRS)


def profile(profile_id: str) -> Any:
    """The full profile (with encode/decode); raises ProfileLookupError naming the id."""
    try:
        return library().get(profile_id)
    except (KeyError, LookupError) as exc:
        raise ProfileLookupError(f"profile {profile_id!r} is not in the device library") from exc


def home_specs(home: HomeManifest) -> dict[str, ProfileSpec]:
    """device_id -> profile for every paired device; errors name home, device and profile."""
    specs: dict[str, ProfileSpec] = {}
    for dev in home.devices:
        try:
            specs[dev.device_id] = profile(dev.profile)
        except ProfileLookupError as exc:
            raise ProfileLookupError(f"home {home.home_id}: device {dev.device_id}: {exc}") from exc
    return specs
