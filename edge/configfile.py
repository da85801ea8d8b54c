"""Read a gateway config from TOML or YAML; every fault names the file, line and field."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from edge.config import GatewayConfig
from firmware_profiles import ProfileLibrary
from protocol import HomeManifest, load_home
from protocol.yamlfile import FileError, validate_text

CREDENTIAL_ENV = "CAREWATCH_GATEWAY_CREDENTIAL"

ConfigError = FileError

_TOML_LINE = re.compile(r"at line (\d+)")

M = TypeVar("M", bound=BaseModel)


def _toml_line(lines: list[str], loc: tuple[int | str, ...]) -> int | None:
    """Best line for a field path in TOML text: the key inside its [table], else the table."""
    keys = [str(p) for p in loc if isinstance(p, str)]
    if not keys:
        return None
    table, leaf = ".".join(keys[:-1]), keys[-1]
    current = ""
    table_line: int | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            current = header.group(1)
            if current == ".".join(keys):
                return number
            if current == table and table_line is None:
                table_line = number
            continue
        key = re.match(r"^([A-Za-z0-9_\-\.\"']+)\s*=", line)
        if key is None:
            continue
        full = ".".join(p for p in (current, key.group(1).strip("\"'")) if p)
        if full == ".".join(keys) or (current == table and key.group(1) == leaf):
            return number
        if full == ".".join(keys[:1]) and len(keys) > 1 and table == "":
            return number
    return table_line


def _load_toml(path: Path, text: str, model: type[M]) -> M:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        line = found.group(1) if found else str(text.count("\n") + 1)
        raise ConfigError(path, [f"{line}: not valid TOML: {exc}"]) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = text.splitlines()
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            line_no = _toml_line(lines, loc)
            problems.append(f"{line_no if line_no is not None else '?'}: {field}: {err['msg']}")
        raise ConfigError(path, problems) from exc


def load_config(path: str | Path) -> GatewayConfig:
    """Load a gateway config (``.toml``, else YAML/JSON); relative paths resolve beside it."""
    p = Path(path)
    return _resolve_paths(load_model_file(p, GatewayConfig), p.parent)


def load_model_file(path: str | Path, model: type[M]) -> M:
    """Read a config file (``.toml``, else YAML/JSON) as ``model``; errors name file and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(p, ["0: file not found"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(p, [f"0: cannot read: {exc}"]) from exc
    return _load_toml(p, text, model) if p.suffix == ".toml" else validate_text(text, p, model)


def _resolve_paths(cfg: GatewayConfig, base: Path) -> GatewayConfig:
    update: dict[str, Any] = {}
    if cfg.home is not None and not cfg.home.is_absolute():
        update["home"] = base / cfg.home
    if not cfg.data_dir.is_absolute():
        update["data_dir"] = base / cfg.data_dir
    extra = cfg.profiles.extra_dirs
    if any(not d.is_absolute() for d in extra):
        dirs = [d if d.is_absolute() else base / d for d in extra]
        update["profiles"] = cfg.profiles.model_copy(update={"extra_dirs": dirs})
    cred = cfg.cloud.credential_file
    if cred is not None and not cred.is_absolute():
        cfg = cfg.model_copy(
            update={"cloud": cfg.cloud.model_copy(update={"credential_file": base / cred})}
        )
    return cfg.model_copy(update=update) if update else cfg


def library_for(cfg: GatewayConfig) -> ProfileLibrary:
    """The built-in device profiles plus those of ``profiles.extra_dirs``."""
    from firmware_profiles import load_library

    return load_library(extra_dirs=cfg.profiles.extra_dirs)


def credential(cfg: GatewayConfig) -> str | None:
    """The gateway's cloud credential: env var, then config value, then credential file."""
    env = os.environ.get(CREDENTIAL_ENV)
    if env:
        return env.strip()
    if cfg.cloud.credential is not None:
        return cfg.cloud.credential.get_secret_value()
    if cfg.cloud.credential_file is not None:
        try:
            return cfg.cloud.credential_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                cfg.cloud.credential_file, [f"0: cannot read credential: {exc}"]
            ) from exc
    return None


def with_credential(cfg: GatewayConfig, value: str) -> GatewayConfig:
    """A copy of ``cfg`` carrying ``value`` as its credential."""
    return cfg.model_copy(
        update={"cloud": cfg.cloud.model_copy(update={"credential": SecretStr(value)})}
    )


def load_home_for(cfg: GatewayConfig) -> HomeManifest:
    """The home manifest named by the config, with the config's extra devices paired too."""
    if cfg.home is None:
        raise ConfigError("(config)", ["0: home: no home manifest given (set `home` or --home)"])
    home = load_home(cfg.home)
    if not cfg.devices:
        return home
    data = home.model_dump()
    known = {d["device_id"] for d in data["devices"]}
    data["devices"] += [d.model_dump() for d in cfg.devices if d.device_id not in known]
    try:
        return HomeManifest.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(cfg.home, [f"0: devices: {e['msg']}" for e in exc.errors()]) from exc
