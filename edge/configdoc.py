"""Config references (docs/gateway.md, docs/ble.md), generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from edge.config import GatewayConfig

SKIP = {"detectors"}  # documented in docs/detectors.md


def _default(value: Any) -> str:
    if value is PydanticUndefined:
        return "(required)"
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, list | dict) and not value:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str, skip: set[str]) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        if name in skip and not prefix:
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _rows(annotation, f"{prefix}{name}.", skip)
            continue
        default = info.get_default(call_default_factory=True)
        rows.append(
            f"| `{prefix}{name}` | {_default(default)} | {info.description or info.title or ''} |"
        )
    return rows


def reference_markdown(model: type[BaseModel] = GatewayConfig, prefix: str = "") -> str:
    """A markdown table of every field of a config model (the gateway's by default)."""
    head = ["| field | default | meaning |", "|---|---|---|"]
    skip = SKIP if model is GatewayConfig else set()
    return "\n".join(head + _rows(model, prefix, skip)) + "\n"
