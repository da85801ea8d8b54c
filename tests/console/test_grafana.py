"""The Grafana dashboard: well formed, and every query runs on a real InfluxDB holding lines
written by the cloud's own line builders, and returns data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud.timeseries.points import alarm_event_line, heartbeat_line, telemetry_line
from protocol import GatewayHeartbeat, TelemetryPoint
from testbed import InfluxServer
from tests.console.seed import write_influx

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = DEPLOY / "dashboards" / "carewatch.json"
DATABASE = "grafana_check"
pytestmark = pytest.mark.services

METRICS = {
    "heart_rate": 72.0,
    "spo2": 96.0,
    "breathing_rate": 15.0,
    "motion": 1.0,
    "presence": 1.0,
    "door_open": 1.0,
    "steps": 40.0,
    "battery": 35.0,
}


def _lines(now: datetime) -> list[str]:
    lines = []
    for m in range(30):
        minute = now.replace(second=0, microsecond=0) - timedelta(minutes=m + 1)
        for home in ("h1", "h2"):
            for metric, value in METRICS.items():
                p = TelemetryPoint(
                    minute=minute,
                    device_id=f"{metric}-1",
                    metric=metric,
                    count=3,
                    min=value,
                    mean=value,
                    max=value,
                )
                lines.append(telemetry_line(home, p))
        hb = GatewayHeartbeat(
            gateway_id="gw-1",
            home_id="h1",
            ts=minute,
            version="1.0",
            uptime_s=3600 + m,
            broker_connected=m % 10 != 0,
            outbox_pending=m,
            quarantine_count=1,
            disk_free_mb=900.0,
            cpu_temp_c=51.5,
            devices_online=3,
            devices_total=4,
        )
        lines.append(heartbeat_line(hb, minute))
    for action in ("raised", "clear"):
        lines.append(
            alarm_event_line(
                alarm_id="a-1",
                home_id="h1",
                gateway_id="gw-1",
                kind="fall",
                severity="critical",
                action=action,
                ts=now - timedelta(minutes=5),
            )
        )
    return lines


def _queries(node: Any) -> Iterator[str]:
    """Every InfluxQL string in the dashboard (panels, variables, annotations)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if (
                key == "query"
                and isinstance(value, str)
                and value.upper().startswith(("SELECT", "SHOW"))
            ):
                yield value
            else:
                yield from _queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from _queries(item)


def _expand(query: str) -> str:
    """What Grafana sends once it has filled in its macros and variables."""
    query = query.replace("$timeFilter", "time > now() - 6h").replace("$__interval", "1m")
    query = query.replace("/^$home$/", "/^(h1|h2)$/").replace("/^$gateway$/", "/^(gw-1)$/")
    assert not re.search(r"\$(?!tag_)\w", query), f"unexpanded variable in {query}"
    return query


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def test_dashboard_is_well_formed(dashboard: dict[str, Any]) -> None:
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine
    titles = {p["title"] for p in panels if p["type"] == "row"}
    assert titles == {"Vitals", "Activity", "Gateway health", "Ingest"}
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "home", "gateway"}


def test_every_query_returns_data(dashboard: dict[str, Any], influx: InfluxServer) -> None:
    write_influx(influx.url, DATABASE, _lines(datetime.now(UTC)))
    queries = list(_queries(dashboard))
    assert len(queries) >= 20
    with httpx.Client(base_url=influx.url, timeout=30) as http:
        for query in queries:
            resp = http.post("/query", data={"db": DATABASE, "q": _expand(query), "epoch": "ms"})
            result = resp.json()["results"][0]
            assert "error" not in result, f"{query}\n-> {result.get('error')}"
            assert result.get("series"), f"no data for: {query}"


def test_provisioning_points_at_the_dashboard_folder() -> None:
    datasource = (DEPLOY / "provisioning" / "datasources" / "carewatch.yaml").read_text()
    provider = (DEPLOY / "provisioning" / "dashboards" / "carewatch.yaml").read_text()
    assert "type: influxdb" in datasource and "dbName: carewatch" in datasource
    assert "path: /var/lib/grafana/dashboards/carewatch" in provider
