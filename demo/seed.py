"""Register the demo's homes, residents, devices, gateways, families and workers in the cloud
through its public API, as an operator would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from demo.cast import FamilySpec, WorkerSpec
from protocol import HomeManifest


class SeedError(RuntimeError):
    """A registration the cloud refused; names the resource and the cloud's answer."""


@dataclass
class Seeded:
    """What the cloud assigned: gateway credentials, worker ids and their logins."""

    credentials: dict[str, str] = field(default_factory=dict)  # gateway_id -> credential
    worker_ids: dict[str, int] = field(default_factory=dict)  # WorkerSpec.key -> id
    workers_by_phone: dict[str, WorkerSpec] = field(default_factory=dict)
    families_by_phone: dict[str, FamilySpec] = field(default_factory=dict)
    home_of_household: dict[str, str] = field(default_factory=dict)


def _check(resp: httpx.Response, what: str) -> Any:
    if resp.status_code >= 400:
        raise SeedError(f"{what}: HTTP {resp.status_code} {resp.text[:300]}")
    return resp.json() if resp.content else None


def login(base: str, username: str, password: str) -> dict[str, str]:
    """Bearer header of an operator or worker login."""
    resp = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": username, "password": password}, timeout=10
    )
    token = _check(resp, f"login {username}")["access_token"]
    return {"Authorization": f"Bearer {token}"}


def seed(
    base: str,
    admin: dict[str, str],
    homes: list[HomeManifest],
    workers: list[WorkerSpec],
    families: list[FamilySpec],
) -> Seeded:
    """Create everything the demo needs; return the gateway credentials and worker ids."""
    out = Seeded()
    now = datetime.now(UTC).isoformat()
    with httpx.Client(base_url=base, headers=admin, timeout=10) as api:
        for h in homes:
            _check(
                api.post(
                    "/api/v1/households",
                    json={
                        "id": h.home_id,
                        "name": h.name,
                        "address": h.address,
                        "lat": h.coordinates.lat,
                        "lon": h.coordinates.lon,
                        "district": h.district,
                        "risk_level": "high",
                        "access_notes": "Key safe by the door, code with the dispatcher.",
                        "timezone": h.timezone,
                    },
                ),
                f"household {h.home_id}",
            )
            out.home_of_household[h.home_id] = h.home_id
            r = h.resident
            _check(
                api.post(
                    "/api/v1/residents",
                    json={
                        "household_id": h.home_id,
                        "first_name": r.first_name,
                        "last_name": r.last_name,
                        "birth_year": r.birth_year,
                        "sex": r.sex,
                        "conditions": r.conditions,
                        "consent": True,
                        "consent_at": now,
                    },
                ),
                f"resident of {h.home_id}",
            )
            gw = _check(
                api.post(
                    "/api/v1/gateways",
                    json={"id": h.gateway_id, "household_id": h.home_id, "name": h.name},
                ),
                f"gateway {h.gateway_id}",
            )
            out.credentials[h.gateway_id] = gw["credential"]
            for d in h.devices:
                _check(
                    api.post(
                        "/api/v1/devices",
                        json={
                            "household_id": h.home_id,
                            "gateway_id": h.gateway_id,
                            "device_id": d.device_id,
                            "profile": d.profile,
                            "room": d.room,
                            "worn_by_resident": d.worn_by == "resident",
                        },
                    ),
                    f"device {d.device_id}",
                )
        for f in families:
            _check(
                api.post(
                    "/api/v1/contacts",
                    json={
                        "household_id": f.home_id,
                        "name": f.name,
                        "relation": f.relation,
                        "phone": f.phone,
                        "language": f.language,
                        "channels": ["sms"],
                        "may_claim": False,
                    },
                ),
                f"family contact of {f.home_id}",
            )
            out.families_by_phone[f.phone] = f
        for w in workers:
            created = _check(
                api.post(
                    "/api/v1/workers",
                    json={
                        "name": w.name,
                        "phone": w.phone,
                        "language": w.language,
                        "role": w.role,
                        "district": w.district,
                        "duty_status": "on",
                        "skills": ["first_aid"],
                        "capacity": 2,
                        "lat": w.lat,
                        "lon": w.lon,
                        "location_at": now,
                    },
                ),
                f"worker {w.key}",
            )
            out.worker_ids[w.key] = int(created["id"])
            out.workers_by_phone[w.phone] = w
    return out
