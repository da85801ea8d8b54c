"""The gateway's own health readings: disk, CPU temperature, resident memory."""

from __future__ import annotations

import shutil
from pathlib import Path

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")


def disk_free_mb(path: Path) -> float | None:
    """Free space on the file system holding ``path``, MB."""
    try:
        return round(shutil.disk_usage(path).free / 1_048_576, 1)
    except OSError:
        return None


def cpu_temp_c(zone: Path = THERMAL_ZONE) -> float | None:
    """CPU temperature (Raspberry Pi: thermal_zone0), °C, where readable."""
    try:
        return round(int(zone.read_text().strip()) / 1000.0, 1)
    except (OSError, ValueError):
        return None


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process, MB (Linux /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None
