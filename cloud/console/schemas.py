"""Response bodies of the console API (``/api/v1/console``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Me(BaseModel):
    """The signed-in operator."""

    username: str
    roles: list[str]
    phones_in_clear: bool


class LiveAlarm(BaseModel):
    """An open alarm; its clock runs from ``started_at`` (the device's time, or the cloud's
    receive time when ``clock_suspect``) until a worker is on site."""

    id: str
    kind: str
    severity: str
    status: str
    detector: str
    started_at: datetime
    clock_suspect: bool = False
    stopped_at: datetime | None
    target_s: float
    household_id: str | None
    household_name: str
    district: str
    resident_id: int | None
    resident_name: str | None
    task_number: str | None
    task_state: str | None


class LiveTask(BaseModel):
    """An open task; its clock runs from creation until the worker is on site."""

    number: str
    kind: str
    state: str
    alarm_kind: str
    severity: str
    at_risk: bool
    unstaffed: bool = Field(
        default=False, description="The home's district has no escalation target (supervisor)."
    )
    started_at: datetime
    stopped_at: datetime | None
    target_s: float
    household_id: str
    household_name: str
    worker_name: str | None


class Live(BaseModel):
    """Everything open right now, as of ``now`` (server time)."""

    now: datetime
    target_s: float
    alarms: list[LiveAlarm]
    tasks: list[LiveTask]
    truncated: bool


class TaskSummary(BaseModel):
    """A task's headline facts."""

    number: str
    kind: str
    state: str
    outcome: str | None
    alarm_kind: str
    severity: str
    household_id: str
    household_name: str
    resident_id: int | None
    worker_name: str | None
    created_at: datetime
    deadline_at: datetime
    arrived_at: datetime | None
    closed_at: datetime | None
    response_s: float | None


class TimelineEntry(BaseModel):
    """One step of the case, from the alarm on the gateway to the task's close."""

    at: datetime
    label: str
    actor: str
    note: str


class AuditEntry(BaseModel):
    """One hash-chained entry of the task's audit trail."""

    seq: int
    at: datetime
    action: str
    actor: str
    channel: str
    detail: str
    prev_hash: str
    hash: str


class TaskDetail(BaseModel):
    """A task, its timeline and its verified audit trail."""

    task: TaskSummary
    timeline: list[TimelineEntry]
    audit: list[AuditEntry]
    chain_ok: bool
    chain_reason: str


class MapHousehold(BaseModel):
    """A household on the map; ``alarm_id`` is its most urgent open alarm."""

    id: str
    name: str
    district: str
    lat: float
    lon: float
    open_alarms: int
    alarm_id: str | None


class MapWorker(BaseModel):
    """A worker with a known position."""

    id: int
    name: str
    district: str
    lat: float
    lon: float
    on_duty: bool
    busy: bool


class MapAlarm(BaseModel):
    """An open alarm in the side list of the map."""

    id: str
    kind: str
    severity: str
    age_s: float
    target_s: float
    household_id: str | None
    household_name: str


class MapData(BaseModel):
    """Households and workers to draw (bounded; ``truncated`` when more exist)."""

    households: list[MapHousehold]
    workers: list[MapWorker]
    alarms: list[MapAlarm]
    truncated: bool


class CandidateOut(BaseModel):
    """A worker who could go (or was offered the task), nearest first."""

    rank: int
    worker_id: int
    name: str
    distance_m: float
    busy: bool
    offer_state: str | None


class Candidates(BaseModel):
    """The selected alarm's home and its candidate workers."""

    alarm_id: str
    household_id: str | None
    lat: float | None
    lon: float | None
    candidates: list[CandidateOut]


class Contact(BaseModel):
    """A family contact (phone masked by role)."""

    name: str
    relation: str
    phone: str | None


class HouseholdOut(BaseModel):
    """The resident's home."""

    id: str
    name: str
    address: str
    district: str
    risk: str
    access_notes: str


class ResidentOut(BaseModel):
    """A resident (phone and ID number masked by role)."""

    id: int
    name: str
    birth_year: int | None
    phone: str | None
    id_number: str | None
    conditions: list[str]
    household: HouseholdOut
    contacts: list[Contact]


class ReadingOut(BaseModel):
    """A device's last value of one metric."""

    metric: str
    value: float | None
    unit: str
    at: datetime


class DeviceOut(BaseModel):
    """A paired device, its last readings and health."""

    id: str
    model: str
    room: str
    last_seen: datetime | None
    online: bool
    battery_pct: float | None
    readings: list[ReadingOut]


class AlarmOut(BaseModel):
    """One alarm in a resident's history."""

    id: str
    kind: str
    severity: str
    status: str
    raised_at: datetime
    task_number: str | None
    outcome: str | None


class ResidentDetail(BaseModel):
    """The resident page."""

    resident: ResidentOut
    devices: list[DeviceOut]
    alarms: list[AlarmOut]


class SeriesPoint(BaseModel):
    """One bucket of a vital sign."""

    t: datetime
    mean: float | None
    min: float | None
    max: float | None


class CountPoint(BaseModel):
    """One bucket of activity."""

    t: datetime
    value: float


class Series(BaseModel):
    """Vitals and activity of a household over ``[start, end)`` in ``bucket_s`` buckets."""

    start: datetime
    end: datetime
    bucket_s: int
    vitals: dict[str, list[SeriesPoint]]
    activity: list[CountPoint]


class Bin(BaseModel):
    """Responses with ``lo <= seconds < hi``."""

    lo: float
    hi: float
    count: int


class ResponseStats(BaseModel):
    """Task created → worker on site, over the report period."""

    count: int
    within_target: int
    missed: int
    share_within_target: float | None
    median_s: float | None
    p90_s: float | None
    bins: list[Bin]


class Rate(BaseModel):
    """False alarms among resolved tasks' alarms for one detector or device model."""

    key: str
    total: int
    false_alarms: int
    rate: float


class FalseAlarms(BaseModel):
    """False-alarm rates by detector and by device model."""

    by_detector: list[Rate]
    by_model: list[Rate]


class DeviceIssue(BaseModel):
    """A device (or gateway) an installer should look at."""

    device_id: str
    model: str
    household_id: str
    household_name: str
    district: str
    last_seen: datetime | None
    battery_pct: float | None


class DeviceHealth(BaseModel):
    """Devices offline (open alarms, gateways down) and low on battery."""

    offline: list[DeviceIssue]
    low_battery: list[DeviceIssue]


class Report(BaseModel):
    """The reports page over ``[from, to)``."""

    start: datetime
    end: datetime
    target_s: float
    response: ResponseStats
    false_alarms: FalseAlarms
    devices: DeviceHealth
