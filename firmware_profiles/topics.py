"""Topic patterns: where a device publishes, and where its id sits in the topic."""

from __future__ import annotations

PLACEHOLDER = "{device_id}"


class TopicPattern:
    """A topic pattern such as ``zigbee2mqtt/{device_id}`` (the id is one whole level)."""

    __slots__ = ("_prefix", "_suffix", "pattern")

    def __init__(self, pattern: str) -> None:
        levels = pattern.split("/")
        if levels.count(PLACEHOLDER) != 1:
            raise ValueError(f"topic pattern {pattern!r} must have exactly one {PLACEHOLDER} level")
        for level in levels:
            if level == PLACEHOLDER:
                continue
            if not level or any(c in level for c in "+#{}"):
                raise ValueError(
                    f"topic pattern {pattern!r} has an invalid level {level!r} "
                    "(empty, or containing + # { })"
                )
        self.pattern = pattern
        self._prefix, self._suffix = pattern.split(PLACEHOLDER)

    def device_id(self, topic: str) -> str | None:
        """The device id in ``topic``, or None when the topic does not fit the pattern."""
        prefix, suffix = self._prefix, self._suffix
        if len(topic) <= len(prefix) + len(suffix):
            return None
        if not topic.startswith(prefix) or not topic.endswith(suffix):
            return None
        device_id = topic[len(prefix) : len(topic) - len(suffix)]
        return None if "/" in device_id else device_id

    def topic_for(self, device_id: str) -> str:
        """The topic a device with this id publishes to."""
        if not device_id or any(c in device_id for c in "/+#"):
            raise ValueError(f"device id {device_id!r} cannot be one MQTT topic level")
        return f"{self._prefix}{device_id}{self._suffix}"

    def subscription(self) -> str:
        """The MQTT filter covering every device of this pattern."""
        return f"{self._prefix}+{self._suffix}"
