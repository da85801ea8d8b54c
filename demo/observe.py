"""The demo's live timeline: what the simulator did, what each gateway committed, what the
cloud stored and dispatched, what was sent to whom and how workers answered."""

from __future__ import annotations

import bisect
import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import httpx
import paho.mqtt.client as mqtt

from cloud.notify.push_standin import PushStandin
from cloud.notify.twilio_standin import TwilioStandin
from edge.outbox import DB_NAME, Outbox
from protocol.topics import CLOCK_TOPIC, TRUTH_TOPIC

_NUMBER = re.compile(r"T\d{8}-\d{4}")


def mask_phone(phone: str) -> str:
    """``+8613900000012`` → ``+86139****0012``: never print a phone number in clear."""
    return phone[:6] + "****" + phone[-4:] if len(phone) > 10 else "****"


@dataclass
class Timeline:
    """Prints timeline lines as they happen and keeps them for the summary."""

    t0: float
    out: TextIO = sys.stdout
    lines: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, home: str, what: str, text: str, sim: str = "") -> None:
        """One line: wall offset, simulated time, home, category, text."""
        t = time.monotonic() - self.t0
        with self._lock:
            self.lines.append(
                {"t_s": round(t, 3), "sim": sim, "home": home, "what": what, "text": text}
            )
            print(f"{t:7.1f}s  {sim:>5}  {home:<5} {what:<8} {text}", file=self.out, flush=True)


class BrokerTap:
    """Follows one home's broker: the simulated clock (to map simulated time to wall time)
    and the simulator's ground-truth events."""

    def __init__(
        self, label: str, port: int, tz: str, on_truth: Callable[[str, dict[str, Any]], None]
    ) -> None:
        self.label = label
        self.tz = ZoneInfo(tz)
        self.on_truth = on_truth
        self.sim: list[float] = []
        self.mono: list[float] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"demo-tap-{label}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            [(CLOCK_TOPIC, 0), (TRUTH_TOPIC, 1)]
        )
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        with contextlib.suppress(ValueError, KeyError, TypeError):
            data = json.loads(msg.payload)
            if msg.topic == CLOCK_TOPIC:
                ts = float(data["ts"])
                with self._lock:
                    if not self.sim or ts > self.sim[-1]:
                        self.sim.append(ts)
                        self.mono.append(now)
            elif msg.topic == TRUTH_TOPIC:
                self.on_truth(self.label, data)

    def wall_at(self, sim_ts: float) -> float | None:
        """Monotonic time at which the simulation reached ``sim_ts`` (None if never)."""
        with self._lock:
            i = bisect.bisect_left(self.sim, sim_ts)
            return self.mono[i] if i < len(self.mono) else None

    def clock_text(self, sim_ts: float | None = None) -> str:
        """``HH:MM`` of the home's simulated clock (now, or at ``sim_ts``)."""
        with self._lock:
            ts = sim_ts if sim_ts is not None else (self.sim[-1] if self.sim else None)
        if ts is None:
            return ""
        return datetime.fromtimestamp(ts, self.tz).strftime("%H:%M")

    def close(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


@dataclass
class CloudView:
    """What the observer has seen of the cloud so far."""

    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)  # alarm_id -> monotonic


class Observer:
    """Polls gateways' outboxes, the cloud API and the provider stand-ins; prints changes."""

    def __init__(
        self,
        timeline: Timeline,
        *,
        cloud: str,
        admin: dict[str, str],
        taps: dict[str, BrokerTap],
        gateway_dirs: dict[str, Path],
        label_of_home: dict[str, str],
        twilio: TwilioStandin,
        push: PushStandin,
        who: dict[str, str],
    ) -> None:
        self.tl = timeline
        self.api = httpx.Client(base_url=cloud, headers=admin, timeout=10)
        self.taps = taps
        self.gateway_dirs = gateway_dirs
        self.label_of_home = label_of_home
        self.twilio = twilio
        self.push = push
        self.who = who  # phone -> "worker Zhang Wei" / "family of home-li"
        self.view = CloudView()
        self.gateway_alarms: dict[str, dict[str, Any]] = {}
        self.gateway_updates: set[str] = set()
        self._outboxes: dict[str, Outbox] = {}
        self._sms_seen = 0
        self._push_seen = 0
        self.sms_by_task: dict[str, float] = {}  # task number -> first worker SMS (monotonic)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="observer", daemon=True)
        self.errors: list[str] = []

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (after one last poll); the API client stays open for the summary."""
        self._stop.set()
        self._thread.join(timeout=15)

    def close(self) -> None:
        """Close the API client."""
        self.api.close()

    def _run(self) -> None:
        """Poll until stopped, then once more; the outbox connections live on this thread."""
        try:
            while True:
                stopping = self._stop.wait(0.25)
                try:
                    self.poll()
                except (httpx.HTTPError, OSError, ValueError) as exc:
                    self.errors.append(str(exc))
                if stopping:
                    return
        finally:
            for box in self._outboxes.values():
                box.db.close()

    def poll(self) -> None:
        """One round over every source."""
        self._poll_gateways()
        self._poll_cloud()
        self._poll_providers()

    def _home(self, home_id: str) -> str:
        return self.label_of_home.get(home_id, home_id)

    def _sim(self, label: str, sim_ts: float | None = None) -> str:
        tap = self.taps.get(label)
        return tap.clock_text(sim_ts) if tap else ""

    def _poll_gateways(self) -> None:
        for label, data_dir in self.gateway_dirs.items():
            box = self._outboxes.get(label)
            if box is None:
                if not (data_dir / DB_NAME).exists():
                    continue
                box = self._outboxes[label] = Outbox(data_dir)
            report = box.report(limit=500)
            for a in reversed(report["alarms"]):
                if a["alarm_id"] in self.gateway_alarms:
                    continue
                self.gateway_alarms[a["alarm_id"]] = {**a, "label": label}
                self.tl.emit(
                    label,
                    "GATEWAY",
                    f"alarm {a['kind']} ({a['severity']}) committed to the outbox"
                    f" [{a['alarm_id'][:8]}]",
                    self._sim(label),
                )
            for u in reversed(report["updates"]):
                if u["update_id"] in self.gateway_updates:
                    continue
                self.gateway_updates.add(u["update_id"])
                self.tl.emit(
                    label,
                    "GATEWAY",
                    f"alarm update {u['action']} [{u['alarm_id'][:8]}]",
                    self._sim(label),
                )

    def _poll_cloud(self) -> None:
        resp = self.api.get("/api/v1/alarms", params={"limit": 500})
        resp.raise_for_status()
        for a in sorted(resp.json(), key=lambda a: a["id"]):
            old = self.view.alarms.get(a["alarm_id"])
            self.view.alarms[a["alarm_id"]] = a
            label = self._home(a["home_id"])
            if old is None:
                self.view.first_seen[a["alarm_id"]] = time.monotonic()
                self.tl.emit(
                    label,
                    "CLOUD",
                    f"alarm {a['kind']} ({a['severity']}) stored, from {a['detector']}"
                    f" [{a['alarm_id'][:8]}]",
                    self._sim(label),
                )
            elif old["status"] != a["status"]:
                self.tl.emit(label, "CLOUD", f"alarm {a['kind']} now {a['status']}")
        resp = self.api.get("/api/v1/tasks")
        resp.raise_for_status()
        for t in sorted(resp.json(), key=lambda t: t["id"]):
            old = self.view.tasks.get(t["id"])
            self.view.tasks[t["id"]] = t
            label = self._home(t["household_id"])
            if old is None:
                self.tl.emit(
                    label,
                    "TASK",
                    f"{t['number']} opened for {t['alarm_kind']} ({t['kind']}), state"
                    f" {t['state']}, deadline {t['deadline_at'][11:16]} UTC",
                )
            elif old["state"] != t["state"]:
                extra = f", outcome {t['outcome']}" if t.get("outcome") else ""
                self.tl.emit(label, "TASK", f"{t['number']} {old['state']} → {t['state']}{extra}")

    def _poll_providers(self) -> None:
        messages = self.twilio.messages
        for m in messages[self._sms_seen :]:
            number = _NUMBER.search(m.body)
            who = self.who.get(m.to, "someone")
            home = "" if number is None else self._task_home(number.group(0))
            if number and who.startswith("worker") and number.group(0) not in self.sms_by_task:
                self.sms_by_task[number.group(0)] = m.received_monotonic
            body = m.body if len(m.body) <= 110 else m.body[:107] + "..."
            self.tl.emit(home, "SMS", f"→ {who} {mask_phone(m.to)}: {body}")
        self._sms_seen = len(messages)
        deliveries = self.push.deliveries
        for d in deliveries[self._push_seen :]:
            try:
                payload = d.json()
            except ValueError:
                payload = {}
            body = str(payload.get("body") or payload.get("title") or "notification")
            number = _NUMBER.search(body)
            home = self._task_home(number.group(0)) if number else ""
            self.tl.emit(home, "PUSH", f"→ worker app: {body[:100]}")
        self._push_seen = len(deliveries)

    def _task_home(self, number: str) -> str:
        for t in self.view.tasks.values():
            if t["number"] == number:
                return self._home(t["household_id"])
        return ""

    def task_details(self) -> list[dict[str, Any]]:
        """Every task with its alarms, offers and audit trail (for the summary)."""
        out = []
        for task_id in sorted(self.view.tasks):
            resp = self.api.get(f"/api/v1/tasks/{task_id}")
            resp.raise_for_status()
            detail = resp.json()
            verify = self.api.get(f"/api/v1/tasks/{task_id}/audit/verify").json()
            detail["audit_verified"] = bool(verify.get("ok"))
            out.append(detail)
        return out

    def notifications(self) -> list[dict[str, Any]]:
        """The cloud's notification records (recipients masked by the cloud)."""
        resp = self.api.get("/api/v1/notifications", params={"limit": 500})
        resp.raise_for_status()
        result: list[dict[str, Any]] = resp.json()
        return result
