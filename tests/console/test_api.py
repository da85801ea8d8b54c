"""Console JSON API on a real cloud: roles, masking, live list, tasks, map, resident, reports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta

import pytest

from protocol.api import ALARMS_PATH
from tests.console.conftest import Console
from tests.console.seed import (
    CONTACT_PHONE,
    DAY,
    RESIDENT_ID_NUMBER,
    RESIDENT_PHONE,
    WORKER_PHONE,
    tamper,
)

API = "/api/v1/console"
pytestmark = [
    pytest.mark.services,
    pytest.mark.parametrize("console", ["sqlite", "postgres"], indirect=True),
]


def test_worker_and_anonymous_are_refused(console: Console) -> None:
    with console.client("worker") as worker, console.client(None) as anon:
        for path in ("/me", "/live", "/map", "/reports", "/events", f"/tasks/T{DAY}-0001"):
            assert worker.get(API + path).status_code == 403, path
            assert anon.get(API + path).status_code == 401, path
        assert "role 'worker'" in worker.get(API + "/live").json()["detail"]


def test_live_lists_open_alarms_and_tasks_most_urgent_first(console: Console) -> None:
    with console.client("dispatcher") as c:
        live = c.get(API + "/live").json()
    alarms = [a["id"] for a in live["alarms"]]
    assert alarms[:3] == ["a-sos", "a-fall", "a-idle"]  # critical oldest first, then high
    assert set(alarms[3:]) >= {"a-off", "a-batt"}
    fall = next(a for a in live["alarms"] if a["id"] == "a-fall")
    assert fall["task_number"] == f"T{DAY}-0001" and fall["task_state"] == "offered"
    assert fall["resident_name"] == "Wang Fang" and fall["target_s"] == 1800
    battery = next(a for a in live["alarms"] if a["id"] == "a-batt")
    assert battery["target_s"] == 72 * 3600  # maintenance, not the 30-minute clock
    tasks = {t["number"]: t for t in live["tasks"]}
    assert set(tasks) == {f"T{DAY}-0001", f"T{DAY}-0002"}
    assert tasks[f"T{DAY}-0002"]["worker_name"] == "Sun Far"
    assert live["target_s"] == 1800 and not live["truncated"]


def test_task_detail_has_timeline_and_verified_audit(console: Console) -> None:
    number = f"T{DAY}-0001"
    with console.client("dispatcher") as disp, console.client("supervisor") as sup:
        masked = disp.get(f"{API}/tasks/{number}").json()
        clear = sup.get(f"{API}/tasks/{number}").json()
    assert masked["chain_ok"] is True
    assert [e["action"] for e in masked["audit"]] == ["created", "offered"]
    assert masked["audit"][1]["prev_hash"] == masked["audit"][0]["hash"]
    labels = [t["label"] for t in masked["timeline"]]
    assert labels[0] == "Alarm raised: fall (critical)" and labels[-1] == "Offered"
    assert masked["timeline"][-1]["actor"].startswith("Li Near (worker:")
    # dispatchers and supervisors see the numbers they must call (cloud.privacy.policy)
    assert WORKER_PHONE in masked["audit"][1]["detail"]
    assert WORKER_PHONE in clear["audit"][1]["detail"]


def test_tampered_audit_trail_is_flagged(console: Console) -> None:
    number = console.city.tampered_task
    asyncio.run(tamper(console.database_url, number))
    with console.client() as c:
        body = c.get(f"{API}/tasks/{number}").json()
    assert body["chain_ok"] is False
    assert "hash" in body["chain_reason"]


def test_dispatcher_sees_the_phones_to_call_but_no_id_number_or_key(console: Console) -> None:
    rid = console.city.resident_id
    with console.client("dispatcher") as disp, console.client("supervisor") as sup:
        masked = disp.get(f"{API}/residents/{rid}").json()
        clear = sup.get(f"{API}/residents/{rid}").json()
    assert masked["resident"]["phone"] == RESIDENT_PHONE
    assert masked["resident"]["contacts"][0]["phone"] == CONTACT_PHONE
    assert masked["resident"]["id_number"] == "110***********1234"
    assert masked["resident"]["household"]["access_notes"] == "key with neighbour, call " + (
        "*" * len(CONTACT_PHONE)
    )
    assert clear["resident"]["phone"] == RESIDENT_PHONE
    assert clear["resident"]["household"]["access_notes"].endswith(CONTACT_PHONE)
    assert RESIDENT_ID_NUMBER not in json.dumps(clear)  # ID numbers: admins only
    with console.client("admin") as admin:
        assert admin.get(f"{API}/residents/{rid}").json()["resident"]["id_number"] == (
            RESIDENT_ID_NUMBER
        )
        log = admin.get("/api/v1/access-log", params={"record_type": "resident"}).json()
    mine = [e for e in log if e["record_id"] == str(rid) and e["role"] == "dispatcher"]
    assert mine and mine[0]["fields"]["id_number"] == "masked"
    assert mine[0]["fields"]["phone"] == "clear"
    assert mine[0]["via"] == "GET /api/v1/console/residents/{id}"


def test_resident_page_devices_and_history(console: Console) -> None:
    with console.client() as c:
        body = c.get(f"{API}/residents/{console.city.resident_id}").json()
    devices = {d["id"]: d for d in body["devices"]}
    assert devices["wrist-1"]["battery_pct"] == 15 and devices["wrist-1"]["online"]
    assert {r["metric"] for r in devices["wrist-1"]["readings"]} == {
        "battery",
        "heart_rate",
        "spo2",
    }
    assert devices["pir-1"]["online"] is False  # open device_offline alarm
    history = {a["id"]: a for a in body["alarms"]}
    assert history["a-fall"]["task_number"] == f"T{DAY}-0001"
    assert history["a-old-11"]["outcome"] == "false_alarm"


def test_resident_series_are_downsampled_from_influx(console: Console) -> None:
    with console.client() as c:
        six = c.get(f"{API}/residents/{console.city.resident_id}/series?range=6h").json()
        day = c.get(f"{API}/residents/{console.city.resident_id}/series", params={"range": "24h"})
    assert six["bucket_s"] == 300
    hr = six["vitals"]["heart_rate"]
    assert 70 <= len(hr) <= 73  # six hours of minutes in five-minute buckets
    assert all(p["min"] <= p["mean"] <= p["max"] for p in hr)
    assert {p["mean"] for p in six["vitals"]["spo2"]} == {97.0}
    assert day.status_code == 200 and day.json()["bucket_s"] == 900
    assert sum(p["value"] for p in day.json()["activity"]) == 36 * 3  # 3 motions every 10 min


def test_map_and_candidates(console: Console) -> None:
    with console.client() as c:
        m = c.get(API + "/map").json()
        cand = c.get(API + "/alarms/a-fall/candidates").json()
    homes = {h["id"]: h for h in m["households"]}
    assert not m["truncated"]
    assert homes["h1"]["open_alarms"] == 2 and homes["h1"]["alarm_id"] == "a-fall"
    workers = {w["name"]: w for w in m["workers"]}
    assert workers["Qian Off"]["on_duty"] is False and workers["Sun Far"]["busy"] is True
    names = [x["name"] for x in cand["candidates"]]
    assert names == ["Li Near", "Zhao Mid"]  # off duty and busy workers are not candidates
    assert cand["candidates"][0]["offer_state"] == "pending"
    assert cand["candidates"][0]["distance_m"] < cand["candidates"][1]["distance_m"]
    with console.client() as c:
        east = c.get(API + "/map", params={"district": "Dongcheng"}).json()
    # Only Dongcheng's home, plus every home with an open alarm; no worker works there.
    assert {h["id"] for h in east["households"]} == {"h1", "h2", "h3"}
    assert east["workers"] == [] and not east["truncated"]


def test_reports(console: Console) -> None:
    with console.client() as c:
        r = c.get(API + "/reports", params={"days": 30}).json()
    resp = r["response"]
    # 8 resolved tasks (5 within 30 min) and one open task already past its target.
    assert (resp["count"], resp["within_target"], resp["missed"]) == (9, 5, 4)
    assert resp["share_within_target"] == pytest.approx(5 / 9)
    assert resp["median_s"] == pytest.approx(27 * 60)
    assert sum(b["count"] for b in resp["bins"]) == 8 and resp["bins"][-1]["count"] == 1
    detectors = {x["key"]: x for x in r["false_alarms"]["by_detector"]}
    assert (detectors["wrist_fall"]["total"], detectors["wrist_fall"]["false_alarms"]) == (6, 3)
    assert detectors["radar_fall"]["rate"] == 0
    models = {x["key"]: x["rate"] for x in r["false_alarms"]["by_model"]}
    assert models == {"acme-wristband-w1": 0.5, "acme-radar-r2": 0.0}
    offline = {d["device_id"] for d in r["devices"]["offline"]}
    assert offline == {"pir-1", "gw-h2"}
    low = {d["device_id"]: d["battery_pct"] for d in r["devices"]["low_battery"]}
    assert low == {"wrist-3": 12, "wrist-1": 15}  # an alarm, and InfluxDB's last reading


def test_csv_exports(console: Console) -> None:
    with console.client() as c:
        responses = c.get(API + "/reports.csv", params={"section": "responses", "days": 30})
        rates = c.get(API + "/reports.csv", params={"section": "false_alarms"})
        devices = c.get(API + "/reports.csv", params={"section": "devices"})
    assert responses.headers["content-type"].startswith("text/csv")
    assert "attachment" in responses.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(responses.text)))
    assert len(rows) == 10
    assert sum(r["within_target"] == "True" for r in rows) == 5
    rate_rows = list(csv.DictReader(io.StringIO(rates.text)))
    assert {(r["group"], r["key"], r["rate"]) for r in rate_rows} >= {
        ("detector", "wrist_fall", "0.5")
    }
    assert {r["device_id"] for r in csv.DictReader(io.StringIO(devices.text))} == {
        "pir-1", "gw-h2", "wrist-3", "wrist-1"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "code", "field"),
    [
        ("/tasks/42", 422, "number"),
        (f"/tasks/T{DAY}-9999", 404, "number"),
        ("/residents/abc", 422, "resident_id"),
        ("/residents/0", 422, "resident_id"),
        ("/residents/999", 404, "resident_id"),
        ("/residents/1/series?range=1y", 422, "range"),
        ("/reports?days=0", 422, "days"),
        ("/reports?days=x", 422, "days"),
        ("/reports.csv?section=secrets", 422, "section"),
        ("/reports.csv", 422, "section"),
        ("/alarms/nope/candidates", 404, "alarm_id"),
        ("/map?district=" + "x" * 65, 422, "district"),
        ("/map?district=a%00b", 422, "district"),
        ("/alarms/a%00b/candidates", 422, "alarm_id"),
        ("/tasks/T20261122-0001%00", 422, "number"),
    ],
)
def test_bad_requests_get_4xx_naming_the_field(
    console: Console, path: str, code: int, field: str
) -> None:
    with console.client() as c:
        resp = c.get(API + path)
    assert resp.status_code == code, resp.text
    assert field in resp.text


def test_pages_and_static_files_are_served(console: Console) -> None:
    with console.client(None) as c:
        assert c.get("/console").status_code in (302, 307)
        for page in ("/console/live", "/console/map", "/console/reports", "/console/tasks/x"):
            resp = c.get(page)
            assert resp.status_code == 200 and 'id="view"' in resp.text
        assert c.get("/console/nope").status_code == 404
        assert c.get("/console/static/app.js").headers["content-type"].startswith("text/javascript")
        assert c.get("/console/static/..%2Fpages.py").status_code == 404
        assert c.get("/console/static/pages.py").status_code == 404


def test_events_deliver_a_new_alarm(console: Console) -> None:
    """The SSE stream sends the current snapshot, then one holding an alarm that arrives."""
    city = console.city
    alarm = {
        "alarm_id": "a-sse-1",
        "gateway_id": "gw-h2",
        "home_id": "h2",
        "kind": "sos",
        "severity": "critical",
        "raised_at": (city.now + timedelta(minutes=1)).isoformat(),
        "detector": "sos_button",
    }
    gateway = {"Authorization": f"Bearer {city.credentials['h2']}"}
    seen: list[list[str]] = []
    with console.client() as c, c.stream("GET", API + "/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        event = ""
        for n, line in enumerate(stream.iter_lines()):
            if n > 200:  # keepalives included: the loop is bounded
                break
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "live":
                ids = [a["id"] for a in json.loads(line[5:])["alarms"]]
                seen.append(ids)
                if len(seen) == 1:
                    ack = c.post(ALARMS_PATH, json={"alarms": [alarm]}, headers=gateway)
                    assert ack.json()["accepted"] == ["a-sse-1"], ack.text
                if "a-sse-1" in ids or len(seen) >= 5:
                    break
    assert "a-sse-1" not in seen[0]
    assert "a-sse-1" in seen[-1]
