"""Message texts in Chinese and English, and the SMS reply codes they explain."""

from __future__ import annotations

from dataclasses import dataclass

KIND_NAMES: dict[str, tuple[str, str]] = {
    "fall": ("跌倒", "a fall"),
    "radar_fall": ("跌倒(雷达)", "a fall (radar)"),
    "fall_recovered": ("跌倒后已自行起身", "a fall they got up from"),
    "sos": ("紧急呼叫", "an SOS call"),
    "inactivity": ("长时间无活动", "no activity for a long time"),
    "not_up": ("早上未起床", "not up this morning"),
    "night_wandering": ("夜间徘徊", "night wandering"),
    "bathroom_dwell": ("卫生间停留过久", "a long stay in the bathroom"),
    "heart_rate_high": ("心率过高", "a high heart rate"),
    "heart_rate_low": ("心率过低", "a low heart rate"),
    "spo2_low": ("血氧过低", "low blood oxygen"),
    "device_offline": ("设备离线", "a device offline"),
    "battery_low": ("电量低", "a low battery"),
    "tamper": ("设备被拆", "device tampering"),
    "off_wrist": ("手环未佩戴", "the band not worn"),
    "gateway_offline": ("网关离线", "the gateway offline"),
    "zigbee_offline": ("Zigbee网络离线", "the Zigbee network offline"),
    "sensor_silent": ("传感器长时间无响应", "a sensor that has gone silent"),
    "delivery_failed": ("告警未能送达", "alarms the gateway could not deliver"),
    "test": ("测试", "a test"),
}

OUTCOME_HELP = {
    "zh": "1协助 2误报 3送医 4不在家 5设备故障 6无人应答 7已修复",
    "en": "1 assisted 2 false alarm 3 hospital 4 away 5 device fault 6 no answer 7 repaired",
}


CLOSINGS: dict[str, tuple[str, str]] = {
    "assisted": ("已协助", "the resident was assisted"),
    "false_alarm": ("误报", "it was a false alarm"),
    "hospital": ("已送医", "taken to hospital"),
    "resident_away": ("住户不在家", "the resident was away"),
    "device_fault": ("设备故障", "a device fault"),
    "no_answer": ("无人应答", "nobody answered the door"),
    "repaired": ("已修复", "repaired"),
    "alarm cleared": ("警报已解除", "the alarm cleared"),
}


def closing(reason: str, lang: str) -> str:
    """Why a case closed (an outcome code or a cancel reason), in ``lang``."""
    zh, en = CLOSINGS.get(reason, (reason, reason))
    return zh if lang == "zh" else en


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """What a message may say about a task."""

    number: str
    kind: str
    first_name: str
    address: str
    access_notes: str = ""
    conditions: tuple[str, ...] = ()
    distance_km: float | None = None


def _kind(kind: str, lang: str) -> str:
    zh, en = KIND_NAMES.get(kind, (kind, kind.replace("_", " ")))
    return zh if lang == "zh" else en


def short_ref(number: str) -> str:
    """``T20261122-0042`` → ``T0042`` (what a worker types in a reply)."""
    return "T" + number.rsplit("-", 1)[-1]


def offer(f: TaskFacts, lang: str, timeout_min: int) -> str:
    """An offer to a worker or supervisor (no access notes: the task is not theirs yet)."""
    ref = short_ref(f.number)
    km = f" ({f.distance_km:.1f} km)" if f.distance_km is not None else ""
    cond = "、".join(f.conditions) if lang == "zh" else ", ".join(f.conditions)
    if lang == "zh":
        what = _kind(f.kind, "zh")
        text = f"[carewatch] 任务{f.number}: {f.first_name} {what}, 地址 {f.address}{km}。"
        if f.access_notes:
            text += f"进门: {f.access_notes}。"
        if cond:
            text += f"情况: {cond}。"
        return text + f"回复 1 {ref} 接受, 2 {ref} 拒绝 ({timeout_min}分钟内)。"
    text = (
        f"[carewatch] Task {f.number}: {f.first_name}, {_kind(f.kind, 'en')}, at {f.address}{km}."
    )
    if f.access_notes:
        text += f" Access: {f.access_notes}."
    if cond:
        text += f" Conditions: {cond}."
    return text + f" Reply 1 {ref} to accept, 2 {ref} to decline (within {timeout_min} min)."


def accepted_help(f: TaskFacts, lang: str) -> str:
    """Confirmation to the worker who accepted: the address, the access notes, the codes."""
    ref = short_ref(f.number)
    if lang == "zh":
        door = f"地址 {f.address}。" + (f"进门: {f.access_notes}。" if f.access_notes else "")
        return (
            f"[carewatch] 已接受{f.number}。{door}到达回复 3 {ref}; 完成回复 4 {ref} 结果码 "
            f"({OUTCOME_HELP['zh']})。"
        )
    door = f" At {f.address}." + (f" Access: {f.access_notes}." if f.access_notes else "")
    return (
        f"[carewatch] You accepted {f.number}.{door} On arrival reply 3 {ref}; when done reply "
        f"4 {ref} <outcome> ({OUTCOME_HELP['en']})."
    )


def family(purpose: str, f: TaskFacts, lang: str, *, who: str = "", may_claim: bool = False) -> str:
    """Family messages: an alarm was raised, someone is on the way, the case is closed.

    For ``closed``, ``who`` is the outcome code or cancel reason (see ``closing``).
    """
    ref = short_ref(f.number)
    if purpose == "closed":
        who = closing(who, lang)
    if lang == "zh":
        texts = {
            "opened": (
                f"[carewatch] {f.first_name}家发生{_kind(f.kind, 'zh')}, "
                f"我们正在派人上门(任务{f.number})。"
            ),
            "on_the_way": f"[carewatch] {who}正在前往{f.first_name}家(任务{f.number})。",
            "closed": f"[carewatch] 任务{f.number}已结束: {who}。",
        }
        claim = f"如您能前往, 回复 1 {ref}。"
    else:
        texts = {
            "opened": (
                f"[carewatch] {_kind(f.kind, 'en').capitalize()} at {f.first_name}'s home; "
                f"we are sending someone (task {f.number})."
            ),
            "on_the_way": f"[carewatch] {who} is on the way to {f.first_name} (task {f.number}).",
            "closed": f"[carewatch] Task {f.number} is closed: {who}.",
        }
        claim = f" If you are going yourself, reply 1 {ref}."
    text = texts[purpose]
    return text + claim if purpose == "opened" and may_claim else text


def simple(key: str, lang: str, number: str = "") -> str:
    """Short replies to SMS commands."""
    texts = {
        "taken": ("任务{n}已由他人接受, 谢谢。", "Task {n} was taken by someone else, thank you."),
        "reassigned": ("任务{n}已改派他人。", "Task {n} was reassigned."),
        "declined": ("已拒绝任务{n}。", "You declined task {n}."),
        "arrived": ("已记录到达{n}。", "Arrival at {n} recorded."),
        "resolved": ("任务{n}已结束, 谢谢。", "Task {n} closed, thank you."),
        "cancelled": ("任务{n}已取消, 无需前往。", "Task {n} was cancelled; no need to go."),
        "unknown": (
            "无法识别。回复 1 接受, 2 拒绝, 3 到达, 4 结果码 完成。",
            "Not understood. Reply 1 accept, 2 decline, 3 arrived, 4 <outcome> done.",
        ),
        "no_task": ("没有相关任务。", "No matching task."),
        "need_outcome": (
            f"请附结果码: {OUTCOME_HELP['zh']}",
            f"Please add an outcome: {OUTCOME_HELP['en']}",
        ),
    }
    zh, en = texts[key]
    return "[carewatch] " + (zh if lang == "zh" else en).format(n=number)
