"""Run-time mode kept in the data dir: resident away, devices in maintenance."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MODE_FILE = "mode.json"


def read_mode(path: Path) -> tuple[bool, set[str]] | None:
    """(away, maintenance devices) from a mode file; None (logged) when unreadable."""
    try:
        data = json.loads(path.read_text())
        away = bool(data.get("away", False))
        maintenance = {str(d) for d in data.get("maintenance", [])}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        log.error("mode file unreadable file=%s error=%s", path, exc)
        return None
    return away, maintenance


def write_mode(data_dir: Path, *, away: bool, maintenance: set[str]) -> Path:
    """Write the mode file atomically; a running gateway picks it up within a second."""
    path = data_dir / MODE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"away": away, "maintenance": sorted(maintenance)}))
    os.replace(tmp, path)
    return path
