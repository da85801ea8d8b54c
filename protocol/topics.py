"""MQTT topics that are carewatch's own (device topics come from the firmware profiles)."""

from __future__ import annotations

# The simulator publishes its simulated clock here (retained JSON: {"ts": epoch_s, "speed": x}),
# so a gateway can run its timers on simulated time during accelerated runs.
CLOCK_TOPIC = "carewatch/sim/clock"
# Ground-truth markers the simulator may publish for live observers (JSON lines in --truth too).
TRUTH_TOPIC = "carewatch/sim/truth"
# Each running gateway announces itself here (retained JSON: token, host, pid, started), under
# its MQTT client id; a second process on the same client id is seen and named by the first.
GATEWAY_INSTANCE_TOPIC = "carewatch/gateway/{client_id}/instance"
