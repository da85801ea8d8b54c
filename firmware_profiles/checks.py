"""Checks across the parts of a profile that one field's validator cannot see."""

from __future__ import annotations

from firmware_profiles.schema import ProfileSpec
from firmware_profiles.topics import TopicPattern
from firmware_profiles.units import ValueClass
from protocol.readings import Kind, ReadingKind

Loc = tuple[str | int, ...]

_INTEGER_TYPES = frozenset({"u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"})


def cross_check(spec: ProfileSpec) -> list[tuple[Loc, str]]:
    """Every inconsistency between fields, encoding, timestamp and examples, with its location."""
    problems: list[tuple[Loc, str]] = []
    seen: dict[Kind, int] = {}
    for i, f in enumerate(spec.fields):
        if not isinstance(f.kind, ReadingKind) and f.kind.value not in spec.kinds:
            problems.append(
                (("fields", i, "kind"), f"{f.kind.value!r} is not built in: declare it in kinds:")
            )
        if f.kind in seen:
            where: Loc = ("fields", i, "kind")
            problems.append((where, f"{f.kind.value} is already fields.{seen[f.kind]}"))
        seen.setdefault(f.kind, i)
    models = spec.recognise.zigbee2mqtt_models
    for i, model in enumerate(models):
        if model in models[:i]:
            where = ("recognise", "zigbee2mqtt_models", i)
            problems.append((where, f"model {model!r} is listed twice"))
    has_block = any(f.value_class == ValueClass.BLOCK for f in spec.fields)
    if has_block and spec.sample_rate_hz is None:
        problems.append((("sample_rate_hz",), "a profile with accel needs sample_rate_hz"))
    if not has_block and spec.sample_rate_hz is not None:
        problems.append((("sample_rate_hz",), "sample_rate_hz without an accel field"))
    if (spec.power == "battery") != (spec.battery_curve is not None):
        problems.append((("battery_curve",), "battery devices need a battery_curve; mains, none"))
    for i, f in enumerate(spec.fields):
        if f.converter_name == "battery_curve" and spec.battery_curve is None:
            problems.append((("fields", i, "converter"), "battery_curve needs a battery_curve"))
    if spec.encoding.format == "binary":
        problems += _check_binary(spec)
    elif spec.encoding.format == "plain":
        problems += _check_plain(spec)
    else:
        problems += _check_json(spec)
    problems += _check_examples(spec, set(seen))
    if spec.availability is not None and spec.availability.topic == spec.topic.pattern:
        problems.append((("availability", "topic"), "is the device's data topic"))
    return problems


def _check_binary(spec: ProfileSpec) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    types = {lf.name: lf.type for lf in spec.encoding.layout}
    block = spec.encoding.block
    for i, f in enumerate(spec.fields):
        is_block = f.value_class == ValueClass.BLOCK
        if is_block and f.path != block:
            problems.append((("fields", i, "path"), f"{f.path!r} is not the encoding's block"))
        elif not is_block and f.path not in types:
            problems.append(
                (("fields", i, "path"), f"{f.path!r} is not in the layout: {sorted(types)}")
            )
        elif f.bit is not None and types[f.path] not in _INTEGER_TYPES:
            problems.append(
                (("fields", i, "bit"), f"{f.path!r} is {types[f.path]}, not an integer")
            )
        if f.embed is not None:
            problems.append((("fields", i, "embed"), "embed applies to JSON payloads only"))
        if f.required or f.integer or f.path_2x:
            problems.append((("fields", i), "required/integer/path_2x apply to JSON payloads only"))
    if spec.timestamp is not None and spec.timestamp.path not in types:
        problems.append((("timestamp", "path"), f"{spec.timestamp.path!r} is not in the layout"))
    if spec.timestamp is not None and not spec.timestamp.required:
        problems.append((("timestamp", "required"), "a binary layout always carries its fields"))
    return problems


def _check_json(spec: ProfileSpec) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for i, f in enumerate(spec.fields):
        if f.bit is not None:
            problems.append((("fields", i, "bit"), "bit applies to binary layouts only"))
        if f.value_class == ValueClass.BLOCK and f.embed is None:
            problems.append((("fields", i, "embed"), "a block inside JSON needs embed: base64|hex"))
    return problems


def _check_plain(spec: ProfileSpec) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for i, f in enumerate(spec.fields):
        try:
            TopicPattern(f"{spec.topic.pattern}/{f.path}")
        except ValueError:
            problems.append(
                (("fields", i, "path"), f"{f.path!r} is not a topic below the device's")
            )
        if f.value_class == ValueClass.BLOCK or f.bit is not None or f.embed or f.path_2x:
            problems.append((("fields", i), "a plain value has no block, bit, embed or path_2x"))
    if spec.timestamp is not None:
        problems.append((("timestamp",), "a plain value carries no time: omit timestamp"))
    return problems


def _plain_patterns(spec: ProfileSpec) -> list[TopicPattern]:
    out = []
    for f in spec.fields:
        try:
            out.append(TopicPattern(f"{spec.topic.pattern}/{f.path}"))
        except ValueError:
            continue
    return out


def _check_examples(spec: ProfileSpec, kinds: set[Kind]) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    topic = TopicPattern(spec.topic.pattern)
    binary_wire = spec.encoding.format == "binary" and spec.encoding.envelope is None
    plain = spec.encoding.format == "plain"
    fits = _plain_patterns(spec) if plain else []
    for i, ex in enumerate(spec.examples):
        if plain:
            if all(p.device_id(ex.topic) is None for p in fits):
                problems.append((("examples", i, "topic"), f"{ex.topic!r} is no field's topic"))
        elif topic.device_id(ex.topic) is None:
            problems.append(
                (("examples", i, "topic"), f"{ex.topic!r} does not fit {spec.topic.pattern!r}")
            )
        if binary_wire and ex.payload_hex is None:
            problems.append((("examples", i), "a binary device's example needs payload_hex"))
        if not binary_wire and ex.payload is None:
            problems.append((("examples", i), "a JSON device's example needs payload (text)"))
        for j, exp in enumerate(ex.expect):
            if exp.kind not in kinds:
                problems.append(
                    (("examples", i, "expect", j, "kind"), f"no field makes {exp.kind.value}")
                )
            elif (exp.samples is not None) != (exp.kind == ReadingKind.ACCEL):
                problems.append(
                    (("examples", i, "expect", j), "accel expects samples; other kinds a value")
                )
    return problems
