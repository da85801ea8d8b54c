"""Dispatch policy, from ``CAREWATCH_DISPATCH_*`` environment variables (read when called)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol import AlarmKind, Severity


class DispatchConfig(BaseSettings):
    """How alarms become tasks and how tasks are offered."""

    model_config = SettingsConfigDict(env_prefix="CAREWATCH_DISPATCH_", extra="ignore")

    response_severities: list[Severity] = Field(
        default=[Severity.CRITICAL, Severity.HIGH],
        description="Severities that open a response task (30-minute clock).",
    )
    maintenance_kinds: list[AlarmKind] = Field(
        default=[
            AlarmKind.BATTERY_LOW,
            AlarmKind.DEVICE_OFFLINE,
            AlarmKind.TAMPER,
            AlarmKind.GATEWAY_OFFLINE,
            AlarmKind.ZIGBEE_OFFLINE,
            AlarmKind.SENSOR_SILENT,
        ],
        description="Warnings that become maintenance tasks for installers.",
    )
    hint_kinds: list[str] = Field(
        default=[AlarmKind.OFF_WRIST, AlarmKind.FALL_RECOVERED, "activity_decline"],
        description="Kinds collected as clues for the next routine visit.",
    )
    repeat_hints: dict[str, int] = Field(
        default={
            AlarmKind.NIGHT_WANDERING: 3,
            AlarmKind.OFF_WRIST: 3,
            AlarmKind.FALL_RECOVERED: 2,
        },
        description="Kinds that also leave a '<kind>_repeated' clue at this many in a week.",
    )
    kind_skills: dict[str, list[str]] = Field(
        default_factory=dict, description="Skills a worker needs per alarm kind."
    )
    installer_skill: str = Field(default="installer", description="Skill of maintenance staff.")
    response_minutes: float = Field(default=30.0, gt=0, description="Alert-to-door target.")
    maintenance_hours: float = Field(default=72.0, gt=0)
    at_risk_minutes: float = Field(
        default=20.0, gt=0, description="Not on site this long after creation: re-dispatch."
    )
    offer_timeout_s: dict[Severity, float] = Field(
        default={
            Severity.CRITICAL: 120.0,
            Severity.HIGH: 300.0,
            Severity.WARNING: 3600.0,
            Severity.INFO: 3600.0,
        }
    )
    parallel_offers: dict[Severity, int] = Field(
        default={Severity.CRITICAL: 3}, description="Offer to the k nearest at once."
    )
    workers_before_escalation: int = Field(default=3, ge=1, description="N offer rounds.")
    prefer_district_km: float = Field(
        default=1.0, ge=0, description="Prefer a worker of the home's district this much farther."
    )
    max_location_age_s: float = Field(default=900.0, gt=0)
    max_distance_km: float = Field(default=25.0, gt=0)
    family_may_claim: bool = Field(default=True, description="Honour contacts' may_claim flag.")
    sms_max_attempts: int = Field(default=8, ge=1)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=300.0, gt=0)
    lease_s: float = Field(default=60.0, gt=0, description="A claimed notification's lease.")
    idle_s: float = Field(default=2.0, gt=0, description="Longest sleep of the loop.")
    index_refresh_s: float = Field(default=5.0, ge=0, description="Sync of workers from the DB.")

    def timeout_for(self, severity: str) -> float:
        """Offer timeout in seconds for a severity."""
        return self.offer_timeout_s.get(Severity(severity), 300.0)

    def parallel_for(self, severity: str) -> int:
        """How many workers get the offer at once."""
        return max(1, self.parallel_offers.get(Severity(severity), 1))
