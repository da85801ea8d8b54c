"""Session-wide fixtures: private real servers on free loopback ports, started on demand."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import InfluxServer, MosquittoServer, PostgresServer

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DATASETS = Path(os.environ.get("CAREWATCH_DATASETS", SHARED / "datasets"))


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoServer]:
    """A private Mosquitto broker for the test session."""
    with MosquittoServer() as server:
        yield server


@pytest.fixture(scope="session")
def influx() -> Iterator[InfluxServer]:
    """A private InfluxDB 1.x server for the test session."""
    with InfluxServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster for the test session."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """``../shared/datasets`` beside the repository; skips when it is absent."""
    if not DATASETS.exists():
        pytest.skip(f"public datasets not found at {DATASETS}")
    return DATASETS
