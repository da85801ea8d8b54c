"""Private instances of the real services (Mosquitto, InfluxDB, PostgreSQL) on loopback.

Tests, the demo and the benchmarks start their own servers on free 127.0.0.1 ports and stop
them afterwards; nothing depends on a system-wide broker or database.
"""

from testbed.services import (
    InfluxServer,
    MosquittoServer,
    PostgresServer,
    ServiceError,
    free_port,
)

__all__ = ["InfluxServer", "MosquittoServer", "PostgresServer", "ServiceError", "free_port"]
