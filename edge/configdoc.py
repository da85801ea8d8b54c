"""The config reference of docs/gateway.md, generated from the pydantic model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from edge.config import GatewayConfig

SKIP = {"detectors"}  # documented in docs/detectors.md


def _default(value: Any) -> str:
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, list | dict) and not value:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        if name in SKIP and not prefix:
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _rows(annotation, f"{prefix}{name}.")
            continue
        default = info.get_default(call_default_factory=True)
        rows.append(
            f"| `{prefix}{name}` | {_default(default)} | {info.description or info.title or ''} |"
        )
    return rows


def reference_markdown() -> str:
    """A markdown table of every gateway config field: name, default, description."""
    head = ["| field | default | meaning |", "|---|---|---|"]
    return "\n".join(head + _rows(GatewayConfig, "")) + "\n"
