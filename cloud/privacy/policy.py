"""The privacy policy: one table of audience x personal field, and how each is shown.

An audience is an operator role (``admin``, ``supervisor``, ``dispatcher``), a worker
answering a task (``worker_offered`` before it is theirs, ``worker_assigned`` after), a
message text (``sms_offer``, ``sms_accepted``, ``sms_family``) or the service's ``log``.
A field is ``<record>.<column>``. Every personal column of the registry tables is in
``POLICY``; columns in ``NOT_PERSONAL`` are shown to whoever may read the record. Masking
only ever applies to the personal field it is asked about: ids, numbers of tasks and
timestamps are never personal fields and are never touched.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any


class Show(StrEnum):
    """How an audience sees a field."""

    CLEAR = "clear"
    MASKED = "masked"
    HIDDEN = "hidden"


class Audience(StrEnum):
    """Who (or what) a field is shown to."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    DISPATCHER = "dispatcher"
    WORKER_OFFERED = "worker_offered"
    WORKER_ASSIGNED = "worker_assigned"
    SMS_OFFER = "sms_offer"
    SMS_ACCEPTED = "sms_accepted"
    SMS_FAMILY = "sms_family"
    LOG = "log"


class Kind(StrEnum):
    """What a field holds, which decides what ``masked`` looks like."""

    PHONE = "phone"  # 13812345678 -> 138****5678
    ID_NUMBER = "id_number"  # 110101194001011234 -> 110***********1234
    NAME = "name"  # Wang Mei -> W*** M**
    SECRET_TEXT = "secret_text"  # key box 4711 -> key box ****
    TEXT = "text"  # free text: phone numbers in it masked
    VALUE = "value"  # anything else: masked means hidden


C, M, H = Show.CLEAR, Show.MASKED, Show.HIDDEN
A = Audience
COLUMNS = tuple(A)

# field: (kind, {audience: show}); every audience is named in every row.
_ROWS: dict[str, tuple[Kind, tuple[Show, ...]]] = {
    # (admin, supervisor, dispatcher, worker_offered, worker_assigned,
    #  sms_offer, sms_accepted, sms_family, log)
    "resident.first_name": (Kind.NAME, (C, C, C, C, C, C, C, C, H)),
    "resident.last_name": (Kind.NAME, (C, C, C, H, C, H, H, H, H)),
    "resident.phone": (Kind.PHONE, (C, C, C, H, H, H, H, H, M)),
    "resident.id_number": (Kind.ID_NUMBER, (C, M, M, H, H, H, H, H, H)),
    "resident.birth_year": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),
    "resident.sex": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),
    "resident.conditions": (Kind.VALUE, (C, C, C, C, C, C, C, H, H)),
    "resident.consent": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),
    "resident.consent_at": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),
    "resident.notes": (Kind.TEXT, (C, C, C, H, H, H, H, H, H)),
    "household.name": (Kind.NAME, (C, C, C, C, C, H, H, H, H)),
    "household.address": (Kind.TEXT, (C, C, C, C, C, C, C, H, H)),
    "household.lat": (Kind.VALUE, (C, C, C, C, C, H, H, H, H)),
    "household.lon": (Kind.VALUE, (C, C, C, C, C, H, H, H, H)),
    "household.access_notes": (Kind.SECRET_TEXT, (C, C, M, H, C, H, C, H, H)),
    "household.vitals": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),  # heart rate, SpO2 series
    "household.activity": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),  # motion, presence series
    "contact.name": (Kind.NAME, (C, C, C, H, H, H, H, C, H)),  # family: who is on the way
    "contact.relation": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),
    "contact.phone": (Kind.PHONE, (C, C, C, H, H, H, H, H, M)),
    "worker.name": (Kind.NAME, (C, C, C, H, H, H, H, C, H)),
    "worker.phone": (Kind.PHONE, (C, C, C, H, H, H, H, H, M)),
    "worker.lat": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),
    "worker.lon": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),
    "worker.location_at": (Kind.VALUE, (C, C, C, H, H, H, H, H, H)),
    "notification.address": (Kind.PHONE, (C, M, M, H, H, H, H, H, M)),
    "audit.text": (Kind.TEXT, (C, C, C, H, H, H, H, H, M)),
}

POLICY: dict[str, tuple[Kind, dict[Audience, Show]]] = {
    name: (kind, dict(zip(COLUMNS, shows, strict=True))) for name, (kind, shows) in _ROWS.items()
}

# Columns of the registry tables that are not personal data (shown with the record).
NOT_PERSONAL: dict[str, frozenset[str]] = {
    "resident": frozenset({"id", "household_id", "created_at"}),
    "household": frozenset(
        {"id", "district", "risk_level", "timezone", "created_at", "updated_at"}
    ),
    "contact": frozenset(
        {
            "id",
            "household_id",
            "language",
            "channels",
            "alarm_kinds",
            "quiet_start",
            "quiet_end",
            "may_claim",
            "created_at",
        }
    ),
    "worker": frozenset(
        {
            "id",
            "language",
            "role",
            "district",
            "duty_status",
            "skills",
            "capacity",
            "active",
            "created_at",
            "updated_at",
        }
    ),
}

# Records whose reads by a person are written to the access log.
LOGGED_RECORDS = frozenset({"resident", "household", "contact"})

# A phone number in free text: not part of a word, an id, a date or a time.
_PHONE = re.compile(r"(?<![\w.:/#-])\+?\d[\d -]{5,18}\d(?![\w.:/-])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def show(audience: Audience | str, field: str) -> Show:
    """How ``audience`` sees ``field`` (fields outside the table are not personal: clear)."""
    row = POLICY.get(field)
    if row is None:
        return Show.CLEAR
    return row[1].get(Audience(audience), Show.HIDDEN)


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """``13812345678`` -> ``138****5678``; short values are masked entirely."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_numbers(text: str) -> str:
    """Free text with phone numbers masked; dates, times, ids and task numbers untouched."""

    def one(m: re.Match[str]) -> str:
        found = m.group(0)
        if _DATE.fullmatch(found.strip()[:10]) or sum(ch.isdigit() for ch in found) < 7:
            return found
        return mask(found)

    return _PHONE.sub(one, text)


def _masked(kind: Kind, value: Any) -> Any:
    if not isinstance(value, str):
        return None
    if kind in (Kind.PHONE, Kind.ID_NUMBER):
        return mask(value)
    if kind is Kind.NAME:
        return " ".join(w[:1] + "*" * (len(w) - 1) for w in value.split(" "))
    if kind is Kind.SECRET_TEXT:
        return re.sub(r"\d", "*", value)
    if kind is Kind.TEXT:
        return mask_numbers(value)
    return None


def render(audience: Audience | str, field: str, value: Any) -> Any:
    """``value`` of ``field`` as ``audience`` may see it (``None`` when hidden)."""
    row = POLICY.get(field)
    if row is None or value is None:
        return value
    how = row[1].get(Audience(audience), Show.HIDDEN)
    if how is Show.CLEAR:
        return value
    if how is Show.HIDDEN or value == "":
        return None if how is Show.HIDDEN else value
    return _masked(row[0], value)


def render_record(audience: Audience | str, record: str, data: dict[str, Any]) -> dict[str, Any]:
    """A record's fields (``column: value``) as ``audience`` may see them."""
    return {k: render(audience, f"{record}.{k}", v) for k, v in data.items()}


def seen_fields(audience: Audience | str, record: str, columns: list[str]) -> dict[str, str]:
    """The personal columns of ``record`` that ``audience`` was shown, and how."""
    out = {}
    for col in columns:
        how = show(audience, f"{record}.{col}")
        if f"{record}.{col}" in POLICY and how is not Show.HIDDEN:
            out[col] = how.value
    return out


def for_log(field: str, value: str) -> str:
    """A personal value as the service's logs may carry it."""
    shown = render(Audience.LOG, field, value)
    return "(hidden)" if shown is None else str(shown)


def log_phone(number: str) -> str:
    """A phone number as the logs carry it (``+86*******5678``)."""
    return for_log("contact.phone", number)


def role_audience(role: str) -> Audience:
    """The audience of an operator role; a worker login sees at most what an offer shows."""
    if role in (A.ADMIN, A.SUPERVISOR, A.DISPATCHER):
        return Audience(role)
    return Audience.WORKER_OFFERED


def markdown_table() -> str:
    """The policy as a Markdown table (docs/cloud.md keeps a copy; a test compares)."""
    head = "| field | " + " | ".join(a.value for a in COLUMNS) + " |"
    rule = "|---|" + "---|" * len(COLUMNS)
    rows = [
        f"| `{name}` | " + " | ".join(shows[a].value for a in COLUMNS) + " |"
        for name, (_kind, shows) in POLICY.items()
    ]
    return "\n".join([head, rule, *rows])
