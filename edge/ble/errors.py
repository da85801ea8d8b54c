"""The BLE side's one exception family: a frame or a response that does not parse."""

from __future__ import annotations


class FrameError(ValueError):
    """A BLE value that does not follow its specification; the message says what and where."""

    def __init__(self, what: str, data: bytes | bytearray, problem: str) -> None:
        self.what = what
        self.hex = bytes(data[:64]).hex(" ")
        more = " ..." if len(data) > 64 else ""
        super().__init__(f"{what}: {problem} ({len(data)} bytes: {self.hex}{more})")
