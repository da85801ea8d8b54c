"""The exceptions of the device library: loading, looking up, decoding and encoding."""

from __future__ import annotations

from protocol.readings import Reading
from protocol.yamlfile import FileError


class ProfileError(FileError):
    """A profile file that cannot be used; the message is ``file:line: field: problem``."""


class ProfileNotFound(KeyError):
    """No profile with this id; the message names the id and the closest known ids."""

    def __init__(self, profile_id: str, close: list[str]) -> None:
        self.profile_id = profile_id
        self.close = close
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"no firmware profile {profile_id!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class DecodeError(ValueError):
    """A payload a profile cannot decode; the message names profile id, topic and field."""


class PartialDecodeError(DecodeError):
    """Some fields of a payload did not decode, the others did: ``readings`` keeps those.

    A bad battery value or timestamp must not cost the SOS in the same message: the caller
    keeps ``readings`` and records the message (quarantine) with this error's reason.
    """

    def __init__(self, message: str, readings: list[Reading]) -> None:
        super().__init__(message)
        self.readings = readings


class EncodeError(ValueError):
    """Values a profile cannot encode; the message names profile id, kind and field."""


class ConversionError(ValueError):
    """One raw or normalized value a converter cannot handle (the codec adds the context)."""
