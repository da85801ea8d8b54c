"""A small valid profile as YAML text, for tests that break it one piece at a time."""

from __future__ import annotations

from pathlib import Path

VALID = """\
id: test-pir
vendor: Test
model: T-1
family: motion
topic:
  pattern: "test/{device_id}/pir"
encoding:
  format: json
timestamp:
  path: ts
  unit: ms
heartbeat_interval_s: 600
battery_curve: [[2.8, 0], [3.0, 100]]
fields:
  - kind: motion
    path: pir
  - kind: voltage
    path: mv
    unit: mV
examples:
  - topic: test/p1/pir
    payload: '{"ts": 1732320000000, "pir": true, "mv": 2900}'
    ts: 1732320000.0
    expect:
      - {kind: motion, value: true}
      - {kind: voltage, value: 2.9}
"""


def write(directory: Path, text: str = VALID, name: str = "test-pir.yaml") -> Path:
    """Write ``text`` as a profile file in ``directory``; return its path."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
