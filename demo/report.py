"""Turn what the demo observed into its summary: expected vs raised alarms, tasks,
notifications and latencies."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from demo.observe import Observer
from demo.phones import WorkerPhones
from demo.scoring import Expected, Raised, percentiles, score
from device_sim.scenario import Scenario


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def build_summary(
    *,
    scenarios: dict[str, Scenario],
    truth: dict[str, list[dict[str, Any]]],
    observer: Observer,
    phones: WorkerPhones,
    rundir: Path,
    started: float,
) -> dict[str, Any]:
    """The summary JSON of a demo run."""
    expected = [
        Expected(e["home_id"], e["expected_alarm"], float(e["ts"]), float(e.get("window_s", 0)))
        for events in truth.values()
        for e in events
        if e.get("expected_alarm")
    ]
    tasks = observer.task_details()
    task_of_alarm = {aid: t for t in tasks for aid in t["alarm_ids"]}
    raised = [
        Raised(
            a["alarm_id"],
            a["home_id"],
            a["kind"],
            _epoch(a["raised_at"]),
            _reached_worker(task_of_alarm.get(a["alarm_id"])),
        )
        for a in observer.view.alarms.values()
    ]
    result = score(expected, raised)
    label_of = {sc.home.home_id: label for label, sc in scenarios.items()}

    latencies: list[float] = []
    per_alarm = []
    for exp, hit in result.matched:
        task = task_of_alarm.get(hit.alarm_id)
        tap = observer.taps.get(label_of.get(hit.home_id, ""))
        sensor = tap.wall_at(hit.ts) if tap else None
        sms = observer.sms_by_task.get(task["number"]) if task else None
        latency = (sms - sensor) * 1000 if sms is not None and sensor is not None else None
        if latency is not None:
            latencies.append(latency)
        per_alarm.append(
            {
                "home_id": hit.home_id,
                "expected": exp.kind,
                "alarm_id": hit.alarm_id,
                "kind": hit.kind,
                "task": task["number"] if task else None,
                "task_state": task["state"] if task else None,
                "outcome": task["outcome"] if task else None,
                "latency_ms": round(latency, 1) if latency is not None else None,
            }
        )

    response_s = [
        _epoch(t["arrived_at"]) - _epoch(t["created_at"]) for t in tasks if t.get("arrived_at")
    ]
    notifications = observer.notifications()
    problems = (
        [f"missed: {e.kind} in {e.home_id}" for e in result.missed]
        + [f"false alarm: {r.kind} in {r.home_id} [{r.alarm_id[:8]}]" for r in result.false_alarms]
        + [f"never reached a worker: {r.kind} in {r.home_id}" for r in result.unreached]
        + [
            f"task {t['number']} still {t['state']}"
            for t in tasks
            if t["state"] not in {"resolved", "cancelled"}
        ]
        + [
            f"audit trail of {t['number']} does not verify"
            for t in tasks
            if not t["audit_verified"]
        ]
    )
    ok = result.ok and not problems
    return {
        "ok": ok,
        "expected_alarms": len(expected),
        "raised_alarms": len(raised),
        "missed": len(result.missed),
        "false_alarms": len(result.false_alarms),
        "tasks": len(tasks),
        "notifications": len(notifications),
        "latency_ms": percentiles(latencies),
        "response_s": {
            k: (round(v / 1000, 1) if isinstance(v, float) else v)
            for k, v in percentiles([r * 1000 for r in response_s]).items()
        },
        "sms_sent": len(observer.twilio.messages),
        "push_delivered": len(observer.push.deliveries),
        "worker_replies": len(phones.replies),
        "wall_s": round(time.monotonic() - started, 1),
        "run_dir": str(rundir),
        "details": {
            "problems": problems,
            "alarms": per_alarm,
            "expected": [asdict(e) for e in expected],
            "raised": [asdict(r) for r in raised],
            "tasks": [
                {
                    k: t[k]
                    for k in (
                        "number",
                        "household_id",
                        "alarm_kind",
                        "kind",
                        "state",
                        "outcome",
                        "created_at",
                        "accepted_at",
                        "arrived_at",
                        "closed_at",
                        "audit_verified",
                        "alarm_ids",
                    )
                }
                for t in tasks
            ],
            "notifications": [
                {k: n.get(k) for k in ("recipient", "channel", "purpose", "state", "attempts")}
                for n in notifications
            ],
            "observer_errors": observer.errors[-20:],
        },
    }


def _reached_worker(task: dict[str, Any] | None) -> bool:
    """A worker (or supervisor) was offered the task, or someone accepted it."""
    return bool(task and (task["offers"] or task.get("accepted_at")))
