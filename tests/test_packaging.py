"""Packaging promises: a gateway install stays lean, every import the code makes is declared."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLOUD_ONLY = ("fastapi", "sqlalchemy", "twilio", "alembic", "influxdb_client", "pywebpush")


def _extras() -> dict[str, list[str]]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    extras: dict[str, list[str]] = data["project"]["optional-dependencies"]
    return extras


def test_edge_extra_declares_no_cloud_only_package() -> None:
    edge = " ".join(_extras()["edge"]).lower()
    assert not [p for p in ("fastapi", "sqlalchemy", "twilio") if p in edge]


def test_running_the_gateway_imports_nothing_of_the_cloud() -> None:
    code = (
        "import sys, edge.app, edge.cli, edge.detectors, firmware_profiles;"
        f"bad = [m for m in {(*CLOUD_ONLY, 'cloud')!r} if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"the gateway imported cloud-only modules: {out}"
