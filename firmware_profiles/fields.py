"""Field declarations compiled once, at load time, into ready-to-call decode/encode steps."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Final

from firmware_profiles.converters import CONVERTERS, SKIP, DecodeFn, EncodeFn, FieldContext
from firmware_profiles.errors import ConversionError
from firmware_profiles.schema import ProfileSpec
from firmware_profiles.units import ValueClass
from protocol.readings import Kind


class Missing:
    """Marker: the payload does not carry this path."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing()

_INTEGER_LAYOUT = frozenset({"u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"})


@dataclass(frozen=True, slots=True)
class CompiledField:
    """One field, ready to run: where its raw value sits and its two conversion functions."""

    kind: Kind
    path: str
    keys: tuple[str, ...]
    alt_keys: tuple[str, ...] | None  # Zigbee2MQTT 2.x's name of the same value
    index: int  # position in the binary header; -1 for JSON fields and the sample block
    bit: int | None
    embed: str | None
    absent: Any
    required: bool
    is_block: bool
    known_raw: frozenset[Any] | None  # lookup keys and ignored values, when `otherwise` is set
    unit: str  # unit label of the reading when not the kind's canonical one (dBm), else ""
    decode: DecodeFn
    encode: EncodeFn


def compile_fields(spec: ProfileSpec) -> list[CompiledField]:
    """Build every field of ``spec`` (which has passed validation and cross checks)."""
    layout = {lf.name: (i, lf.type) for i, lf in enumerate(spec.encoding.layout)}
    points = spec.battery_curve or []
    curve = tuple(v for v, _ in points), tuple(p for _, p in points)
    out = []
    for f in spec.fields:
        index, ltype = layout.get(f.path, (-1, ""))
        ctx = FieldContext(
            kind=f.kind,
            scale=f.scale,
            offset=f.offset,
            divisor=f.unit_divisor(),
            integer=f.integer or ltype in _INTEGER_LAYOUT,
            lookup=f.lookup,
            skip_unmatched=f.unmatched == "skip",
            ignore=frozenset(f.ignore),
            otherwise=SKIP if f.otherwise is None else f.otherwise,
            battery_curve=curve,
            big_endian=spec.encoding.byte_order == "big",
        )
        decode, encode = CONVERTERS[f.converter_name].build(ctx)
        out.append(
            CompiledField(
                kind=f.kind,
                path=f.path,
                keys=split_path(f.path),
                alt_keys=split_path(f.path_2x) if f.path_2x else None,
                index=index,
                bit=f.bit,
                embed=f.embed,
                absent=MISSING if f.absent is None else f.absent,
                required=f.required,
                is_block=f.value_class == ValueClass.BLOCK,
                known_raw=(
                    frozenset([*(f.lookup or {}), *f.ignore]) if f.otherwise is not None else None
                ),
                unit=f.unit if f.unit == "dBm" else "",
                decode=decode,
                encode=encode,
            )
        )
    return out


def split_path(path: str) -> tuple[str, ...]:
    """``a.b`` -> ("a", "b")."""
    return tuple(path.split("."))


def get_path(obj: Any, keys: tuple[str, ...]) -> Any:
    """The value at ``keys`` inside nested JSON objects, or MISSING."""
    for key in keys:
        if not isinstance(obj, dict):
            return MISSING
        obj = obj.get(key, MISSING)
        if obj is MISSING:
            return MISSING
    return obj


def put_path(obj: dict[str, Any], keys: tuple[str, ...], value: Any) -> Any:
    """Set ``value`` at ``keys``, creating objects on the way; return what was there, or MISSING."""
    for key in keys[:-1]:
        obj = obj.setdefault(key, {})
    old = obj.get(keys[-1], MISSING)
    obj[keys[-1]] = value
    return old


def unembed(raw: Any, embed: str) -> bytes:
    """Bytes from hex or base64 text."""
    if not isinstance(raw, str):
        raise ConversionError(f"expected {embed} text, got {type(raw).__name__}")
    try:
        if embed == "hex":
            return bytes.fromhex(raw)
        return base64.b64decode(raw, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ConversionError(f"not valid {embed}: {exc}") from None


def embed_bytes(data: bytes, embed: str) -> str:
    """Hex or base64 text of ``data``."""
    return data.hex() if embed == "hex" else base64.b64encode(data).decode("ascii")
