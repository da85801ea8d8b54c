"""Load a YAML (or JSON) file into a strict pydantic model, with errors naming file, line, field.

Profiles, home manifests, scenarios and gateway configs all go through here, so a bad file
always stops with ``path:line: field.path: what is wrong``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class FileError(ValueError):
    """A configuration or data file that cannot be used; the message names file, line, field."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}:{p}" for p in problems))


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest node reachable along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if nxt is None:
                key = next(
                    (k for k, _ in node.value if getattr(k, "value", None) == str(part)), None
                )
                return key.start_mark.line + 1 if key is not None else line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def format_validation_error(exc: ValidationError, root: yaml.Node | None) -> list[str]:
    """Each pydantic error as ``line: field.path: message``."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = line_of(root, loc)
        problems.append(f"{line if line is not None else '?'}: {field}: {err['msg']}")
    return problems


def parse_yaml_text(text: str, path: str | Path) -> tuple[Any, yaml.Node | None]:
    """Parse YAML text into Python data and its node tree (for line numbers)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else "?"
        raise FileError(path, [f"{line}: not valid YAML: {exc.problem}"]) from exc
    except yaml.YAMLError as exc:
        raise FileError(path, [f"?: not valid YAML: {exc}"]) from exc
    return data, root


def load_model(path: str | Path, model: type[M], *, context: dict[str, Any] | None = None) -> M:
    """Read ``path`` (YAML or JSON) and validate it as ``model``; raise FileError on any fault."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FileError(p, ["0: file not found"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(p, [f"0: cannot read: {exc}"]) from exc
    return validate_text(text, p, model, context=context)


def validate_text(
    text: str, path: str | Path, model: type[M], *, context: dict[str, Any] | None = None
) -> M:
    """Validate YAML/JSON text as ``model``; errors name ``path``."""
    data, root = parse_yaml_text(text, path)
    if data is None:
        raise FileError(path, ["1: file is empty"])
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise FileError(path, format_validation_error(exc, root)) from exc
