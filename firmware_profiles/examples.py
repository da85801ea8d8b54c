"""Run a profile's captured examples both ways: decode == expected, decode(encode) == expected."""

from __future__ import annotations

from typing import Any

import numpy as np

from firmware_profiles.errors import DecodeError, EncodeError
from firmware_profiles.profile import DeviceProfile
from firmware_profiles.schema import Example, ExpectedReading
from protocol.readings import Reading

# Round-trip tolerance: encoded numbers may be rounded to the device's integer resolution.
REL_TOL = 1e-6
ABS_TOL = 1e-9
TS_TOL = 1e-6


def expected_values(example: Example) -> dict[str, Any]:
    """The example's expected readings as ``encode`` values (accel as an (n, 3) array)."""
    values: dict[str, Any] = {}
    for exp in example.expect:
        if exp.samples is not None:
            values[exp.kind.value] = np.asarray(exp.samples, dtype=np.float64)
        else:
            values[exp.kind.value] = exp.value
    return values


def compare(readings: list[Reading], example: Example) -> list[str]:
    """What differs between decoded ``readings`` and the example's expectation (empty: none)."""
    got = [r.kind.value for r in readings]
    want = [e.kind.value for e in example.expect]
    if got != want:
        return [f"decoded kinds {got}, expected {want}"]
    problems = []
    for r, exp in zip(readings, example.expect, strict=True):
        if abs(r.ts - example.ts) > TS_TOL:
            problems.append(f"{exp.kind.value}: ts {r.ts!r}, expected {example.ts!r}")
        problem = _compare_value(r, exp)
        if problem:
            problems.append(f"{exp.kind.value}: {problem}")
    return problems


def _compare_value(r: Reading, exp: ExpectedReading) -> str:
    if exp.samples is not None:
        want = np.asarray(exp.samples, dtype=np.float64)
        if r.samples is None or r.samples.shape != want.shape:
            shape = None if r.samples is None else r.samples.shape
            return f"samples of shape {shape}, expected {want.shape}"
        if not np.allclose(r.samples, want, rtol=REL_TOL, atol=ABS_TOL):
            return f"samples {r.samples.tolist()}, expected {want.tolist()}"
        return ""
    got, want_value = r.value, exp.value
    if isinstance(want_value, (bool, str)) or want_value is None:
        same = got is want_value or (type(got) is type(want_value) and got == want_value)
    else:
        same = (
            isinstance(got, int | float)
            and not isinstance(got, bool)
            and bool(np.isclose(got, want_value, rtol=REL_TOL, atol=ABS_TOL))
        )
    return "" if same else f"value {got!r}, expected {want_value!r}"


def check_example(profile: DeviceProfile, example: Example) -> list[str]:
    """Problems with one example, in both directions (empty: it passes)."""
    try:
        decoded = profile.decode(
            example.topic, example.payload_bytes(), received_at=example.received_at
        )
    except DecodeError as exc:
        return [f"decode: {exc}"]
    problems = [f"decode: {p}" for p in compare(decoded, example)]
    if not example.expect:  # nothing to encode back
        return problems
    device_id = profile.device_id_from_topic(example.topic)
    assert device_id is not None
    try:
        messages = profile.encode_messages(
            device_id, expected_values(example), ts=example.ts, z2m=example.z2m
        )
        # A later arrival time: the event time must come back from the payload itself (a
        # payload without a timestamp, a plain value, has the arrival time: the example's).
        later = 0.0 if profile.spec.timestamp is None else 1000.0
        again = [
            r
            for topic, payload in messages
            for r in profile.decode(topic, payload, received_at=example.received_at + later)
        ]
    except (EncodeError, DecodeError) as exc:
        return [*problems, f"round trip: {exc}"]
    topics = sorted({topic for topic, _ in messages})
    if topics != [example.topic]:
        problems.append(f"round trip: topics {topics}, expected [{example.topic!r}]")
    problems += [f"round trip: {p}" for p in compare(again, example)]
    return problems


def check_examples(profile: DeviceProfile) -> list[str]:
    """Problems with every example of ``profile``, each prefixed ``examples.<i>``."""
    return [
        f"examples.{i}: {p}"
        for i, ex in enumerate(profile.examples)
        for p in check_example(profile, ex)
    ]
