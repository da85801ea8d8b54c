"""MQTT topics that are carewatch's own (device topics come from the firmware profiles)."""

from __future__ import annotations

# The simulator publishes its simulated clock here (retained JSON: {"ts": epoch_s, "speed": x}),
# so a gateway can run its timers on simulated time during accelerated runs.
CLOCK_TOPIC = "carewatch/sim/clock"
# Ground-truth markers the simulator may publish for live observers (JSON lines in --truth too).
TRUTH_TOPIC = "carewatch/sim/truth"
