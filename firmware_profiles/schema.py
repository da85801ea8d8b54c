"""The strict model of a profile file: every field documented, anything unknown refused."""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from firmware_profiles.converters import CONVERTERS, DEFAULT_CONVERTER
from firmware_profiles.topics import TopicPattern
from firmware_profiles.units import (
    KNOWN_UNITS,
    ValueClass,
    canonical_unit,
    divisor,
    enum_values,
    value_class_of,
)
from protocol.readings import KIND_NAME, Kind, ReadingKind, kind_named


def _kind(value: Any) -> Kind:
    if isinstance(value, ReadingKind):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a kind is a name, got {value!r}")
    return kind_named(value)  # a kind of this file's `kinds:` is declared before validation


KindField = Annotated[Kind, PlainValidator(_kind), PlainSerializer(str)]

ProfileId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
BUILTIN_FAMILIES = ("motion", "radar", "wearable", "fall_pendant", "door", "button")
Family = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
LayoutType = Literal["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64"]
Embed = Literal["base64", "hex"]
JsonScalar = StrictBool | StrictInt | StrictFloat | StrictStr

STRUCT_CODES: dict[str, str] = {
    "u8": "B",
    "i8": "b",
    "u16": "H",
    "i16": "h",
    "u32": "I",
    "i32": "i",
    "u64": "Q",
    "i64": "q",
    "f32": "f",
    "f64": "d",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Recognition(_Strict):
    """How a payload is recognised as this device's (JSON devices)."""

    zigbee_model: str | None = Field(
        default=None, description="Model id the device reports over Zigbee, for reference."
    )
    zigbee2mqtt_models: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        default_factory=list,
        description="Zigbee2MQTT `definition.model` values (zigbee2mqtt/bridge/devices) this "
        "profile serves; pairing matches on them exactly, and no two profiles share one.",
    )
    required: list[str] = Field(
        default_factory=list, description="JSON paths every payload of this device contains."
    )
    keys: list[str] = Field(
        default_factory=list,
        description="Every top-level JSON key the device sends; others lower the match score.",
    )
    constants: dict[str, JsonScalar] = Field(
        default_factory=dict,
        description="JSON paths with a fixed value: checked when decoding, written when encoding.",
    )
    priority: int = Field(default=0, description="Breaks ties between equally good matches.")


class Topic(_Strict):
    """Where the device publishes."""

    pattern: str = Field(description="MQTT topic with one {device_id} level.")

    @field_validator("pattern")
    @classmethod
    def _valid(cls, value: str) -> str:
        TopicPattern(value)
        return value


class Availability(_Strict):
    """Where the device, or the bridge in front of it, says it is online or offline.

    The payload is plain text (``online``; Zigbee2MQTT 1.x's legacy payload, ESPHome's
    ``<node>/status``) or a JSON object with a ``state`` (``{"state":"online"}``,
    Zigbee2MQTT 2.x); both are read.
    """

    topic: str = Field(
        description="MQTT topic with one {device_id} level, e.g. "
        "zigbee2mqtt/{device_id}/availability or {device_id}/status."
    )
    online: str = Field(default="online", min_length=1, description="State meaning online.")
    offline: str = Field(default="offline", min_length=1, description="State meaning offline.")
    timeouts: Literal["zigbee2mqtt", "heartbeat"] = Field(
        default="heartbeat",
        description="Silence before the gateway calls the device offline: zigbee2mqtt = "
        "Zigbee2MQTT's availability defaults by power (mains 10 min, battery 25 h); "
        "heartbeat = the profile's heartbeat_interval_s rule.",
    )

    @field_validator("topic")
    @classmethod
    def _valid(cls, value: str) -> str:
        TopicPattern(value)
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Availability:
        if self.online == self.offline:
            raise ValueError(f"online and offline are both {self.online!r}")
        return self


class Timestamp(_Strict):
    """Where the payload carries the event time."""

    path: str = Field(min_length=1, description="JSON path or binary layout field.")
    unit: Literal["s", "ms", "s_since_2000"] = Field(
        description="s or ms since 1970; s_since_2000 for RTCs counting from 2000-01-01 UTC."
    )
    required: bool = Field(
        default=True, description="False: absent means 'use the time the message arrived'."
    )


class LayoutField(_Strict):
    """One field of a binary struct header, in order."""

    name: Name
    type: LayoutType
    const: int | None = Field(default=None, description="Fixed value (magic, version).")
    default: int | float = Field(default=0, description="Raw value written when not given.")


class Envelope(_Strict):
    """A binary frame carried as text inside a JSON object."""

    path: str = Field(min_length=1, description="JSON path of the text.")
    embed: Embed


class Encoding(_Strict):
    """How the payload is laid out."""

    format: Literal["json", "binary", "plain"] = Field(
        description="json: one object per message; binary: a struct frame; plain: one value "
        "per topic (ESPHome's MQTT entities), each field's path the topic below the device's."
    )
    byte_order: Literal["little", "big"] = "little"
    layout: list[LayoutField] = Field(default_factory=list, description="Binary header fields.")
    block: Name | None = Field(
        default=None, description="Name of the block of samples that follows the header."
    )
    envelope: Envelope | None = Field(
        default=None, description="Binary only: the frame is hex/base64 text inside JSON."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Encoding:
        if self.format != "binary" and (self.layout or self.block or self.envelope):
            raise ValueError(f"a {self.format} encoding takes no layout, block or envelope")
        if self.format == "binary" and not self.layout:
            raise ValueError("a binary encoding needs a layout")
        names = [f.name for f in self.layout]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup or (self.block is not None and self.block in names):
            raise ValueError(f"layout field names repeat: {dup or [self.block]}")
        return self


class FieldSpec(_Strict):
    """One payload field mapped to one normalized reading."""

    kind: KindField = Field(description="The reading kind it produces (built in or declared).")
    path: str = Field(min_length=1, description="JSON path (a.b.0) or binary layout name.")
    path_2x: str | None = Field(
        default=None,
        min_length=1,
        description="JSON: Zigbee2MQTT 2.x's name of this value where it differs from 1.x's "
        "`path` (illuminance_lux became illuminance); decoding reads `path`, then this.",
    )
    converter: str | None = Field(default=None, description="Named converter; default by kind.")
    unit: str | None = Field(
        default=None, description="Unit after scale/offset; default canonical."
    )
    scale: float = Field(default=1.0, description="Multiplier applied to the raw value.")
    offset: float = Field(default=0.0, description="Added after scaling.")
    lookup: dict[StrictBool | StrictInt | StrictStr, JsonScalar] | None = Field(
        default=None, description="Raw value -> normalized value, for the lookup converter."
    )
    unmatched: Literal["error", "skip"] = Field(
        default="error", description="A raw value not in the lookup: error, or no reading."
    )
    ignore: list[StrictBool | StrictInt | StrictStr] = Field(
        default_factory=list,
        description="Lookup: raw values that deliberately give no reading (a button's "
        "'release'); with `otherwise`, they are the only values that do not take it.",
    )
    otherwise: JsonScalar | None = Field(
        default=None,
        description="Lookup: the value of a raw value neither in the table nor ignored (an SOS "
        "button's unknown press type is a press); overrides `unmatched`.",
    )
    bit: int | None = Field(default=None, ge=0, le=63, description="Bit of a binary flags field.")
    embed: Embed | None = Field(default=None, description="Bytes carried as hex/base64 text.")
    absent: StrictInt | StrictFloat | StrictStr | None = Field(
        default=None, description="Raw value that means 'not measured': no reading."
    )
    integer: bool = Field(default=False, description="JSON: encode as an integer.")
    decimals: int | None = Field(
        default=None,
        ge=0,
        le=6,
        description="Plain: digits after the point when encoding (ESPHome's accuracy_decimals).",
    )
    required: bool = Field(default=False, description="JSON: a payload without it is refused.")
    note: str = Field(default="", description="Why the field is mapped this way.")

    @field_validator("converter")
    @classmethod
    def _known_converter(cls, value: str | None) -> str | None:
        if value is not None and value not in CONVERTERS:
            raise ValueError(f"unknown converter {value!r}; known: {', '.join(CONVERTERS)}")
        return value

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_UNITS:
            raise ValueError(f"unknown unit {value!r}; known: {', '.join(sorted(KNOWN_UNITS))}")
        return value

    @field_validator("scale")
    @classmethod
    def _usable_scale(cls, value: float) -> float:
        if value == 0 or not math.isfinite(value):
            raise ValueError(f"scale must be finite and non-zero, got {value}")
        return value

    @property
    def value_class(self) -> ValueClass:
        """What the reading holds: bool, number, enum or block."""
        vclass = value_class_of(self.kind)
        if vclass is None:
            raise ValueError(f"kind {self.kind.value!r} cannot come from a payload field")
        return vclass

    @property
    def converter_name(self) -> str:
        """The converter in use (declared, or the kind's default)."""
        return self.converter or DEFAULT_CONVERTER[self.value_class]

    def unit_divisor(self) -> float:
        """Divide the scaled raw value by this to reach the kind's canonical unit."""
        target = "V" if self.converter_name == "battery_curve" else canonical_unit(self.kind)
        return divisor(target, self.unit if self.unit is not None else target)

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        where = f"field {self.kind.value} (path {self.path!r})"
        if value_class_of(self.kind) is None:
            raise ValueError(f"{where}: kind {self.kind.value!r} cannot come from a payload field")
        conv = CONVERTERS[self.converter_name]
        if conv.yields is not None and conv.yields != self.value_class:
            raise ValueError(
                f"{where}: converter {conv.name!r} yields {conv.yields.value}, "
                f"but {self.kind.value} holds {self.value_class.value}"
            )
        if conv.name == "battery_curve" and self.kind != ReadingKind.BATTERY:
            raise ValueError(f"{where}: converter 'battery_curve' only makes battery readings")
        try:
            self.unit_divisor()
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if (conv.name == "lookup") != (self.lookup is not None):
            raise ValueError(f"{where}: a lookup table goes with the 'lookup' converter only")
        if self.lookup is None and (self.ignore or self.otherwise is not None):
            raise ValueError(f"{where}: ignore and otherwise go with a lookup table only")
        if self.lookup is not None:
            for value in self.lookup.values():
                _check_lookup_value(self.kind, self.value_class, value, where)
            if self.otherwise is not None:
                _check_lookup_value(self.kind, self.value_class, self.otherwise, where)
            both = sorted(str(v) for v in self.ignore if v in self.lookup)
            if both:
                raise ValueError(f"{where}: {both} both in the lookup table and ignored")
        if self.bit is not None and self.value_class != ValueClass.BOOL:
            raise ValueError(f"{where}: bit only applies to true/false kinds")
        if self.embed is not None and self.value_class != ValueClass.BLOCK:
            raise ValueError(f"{where}: embed only applies to blocks of samples")
        return self


def _check_lookup_value(kind: Kind, vclass: ValueClass, value: Any, where: str) -> None:
    ok = {
        ValueClass.BOOL: isinstance(value, bool),
        ValueClass.NUMBER: isinstance(value, int | float) and not isinstance(value, bool),
        ValueClass.ENUM: value in enum_values(kind),
        ValueClass.BLOCK: False,
    }[vclass]
    if not ok:
        allowed = sorted(enum_values(kind)) if vclass == ValueClass.ENUM else vclass.value
        raise ValueError(f"{where}: lookup value {value!r} is not valid for it; allowed: {allowed}")


class ExpectedReading(_Strict):
    """One reading an example payload must decode to."""

    kind: KindField
    value: JsonScalar | None = None
    samples: list[list[float]] | None = Field(default=None, description="Block rows, in g.")


class KindDecl(_Strict):
    """A reading kind this profile declares as data (humidity, ...), beside the built-ins."""

    unit: str = Field(
        min_length=1, max_length=16, description="Canonical unit of the kind (%, hPa, ...)."
    )
    value: Literal["bool", "number", "enum"] = Field(description="What a reading holds.")
    event: bool = Field(
        default=False,
        description="True: every message is an event (a press); false: a state or measure, "
        "whose repeats on check-in are no event.",
    )
    values: list[str] = Field(default_factory=list, description="An enum's values.")

    @model_validator(mode="after")
    def _enum_values(self) -> KindDecl:
        if (self.value == "enum") != bool(self.values):
            raise ValueError("values go with value: enum (and an enum needs them)")
        return self


KindsSection = dict[Annotated[str, StringConstraints(pattern=KIND_NAME)], KindDecl]


class Example(_Strict):
    """A captured payload and the readings it must decode to."""

    note: str = ""
    z2m: Literal["1.x", "2.x"] | None = Field(
        default=None, description="Zigbee2MQTT major version whose payload shape this is."
    )
    esphome: str | None = Field(
        default=None, description="ESPHome component that publishes it, e.g. seeed_mr60fda2."
    )
    matches: bool = Field(
        default=True,
        description="False: the payload alone does not tell this model (a button's check-in "
        "has no action); pairing goes by the Zigbee2MQTT model instead.",
    )
    topic: str
    received_at: float = Field(default=1_732_320_000.0, description="Arrival time, epoch s.")
    payload: str | None = Field(default=None, description="Payload text (JSON devices).")
    payload_hex: str | None = Field(default=None, description="Payload bytes as hex.")
    ts: float = Field(description="Expected event time of every reading, epoch s.")
    expect: list[ExpectedReading] = Field(
        description="The readings, in field order; empty: the payload says nothing (a 0 = no lock)."
    )

    @model_validator(mode="after")
    def _one_payload(self) -> Example:
        if (self.payload is None) == (self.payload_hex is None):
            raise ValueError("give exactly one of payload and payload_hex")
        if self.payload_hex is not None:
            bytes.fromhex(self.payload_hex)
        return self

    def payload_bytes(self) -> bytes:
        """The payload as it travels on the wire."""
        if self.payload_hex is not None:
            return bytes.fromhex(self.payload_hex)
        assert self.payload is not None
        return self.payload.encode("utf-8")


class ProfileSpec(_Strict):
    """One device model."""

    id: ProfileId = Field(description="Unique id, also the file name: <id>.yaml.")
    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1)
    family: Family = Field(
        description="motion | radar | wearable | fall_pendant | door | button, or a family "
        "this file declares in `families` (environment, ...)."
    )
    families: list[Family] = Field(
        default_factory=list,
        description="New families this file declares (a family not built in must be listed, "
        "so a misspelt one is refused).",
    )
    kinds: KindsSection = Field(
        default_factory=dict,
        description="Reading kinds this file declares (name -> unit, value, event); a field "
        "may use them like the built-in kinds.",
    )
    description: str = Field(default="", description="One line for the device table.")
    recognise: Recognition = Field(default_factory=Recognition)
    topic: Topic
    encoding: Encoding
    timestamp: Timestamp | None = Field(
        default=None, description="Absent: event time is the time the message arrived."
    )
    availability: Availability | None = Field(
        default=None, description="The device's online/offline topic, if it has one."
    )
    sample_rate_hz: float | None = Field(default=None, gt=0, le=2000)
    heartbeat_interval_s: float = Field(gt=0, description="Longest silence of a healthy device.")
    power: Literal["battery", "mains"] = Field(default="battery", description="Power source.")
    battery_curve: list[tuple[float, float]] | None = Field(
        default=None,
        min_length=2,
        description="(volts, percent) points, both strictly increasing; battery devices only.",
    )
    fields: list[FieldSpec] = Field(min_length=1)
    examples: list[Example] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_family(self) -> ProfileSpec:
        if self.family not in BUILTIN_FAMILIES and self.family not in self.families:
            raise ValueError(
                f"family {self.family!r} is not built in ({', '.join(BUILTIN_FAMILIES)}); "
                "declare a new one in `families:`"
            )
        return self

    @field_validator("battery_curve")
    @classmethod
    def _increasing(
        cls, value: list[tuple[float, float]] | None
    ) -> list[tuple[float, float]] | None:
        if value is None:
            return None
        for (v0, p0), (v1, p1) in itertools.pairwise(value):
            if not (v1 > v0 and p1 > p0):
                raise ValueError(f"points ({v0}, {p0}) -> ({v1}, {p1}) are not both increasing")
        if value[0][1] < 0 or value[-1][1] > 100:
            raise ValueError("percent must stay within 0..100")
        return value
