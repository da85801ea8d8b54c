"""Service settings from ``CAREWATCH_*`` environment variables, read when called."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET = "carewatch-development-only-secret"

# The browser vendors' push services: Chrome (FCM, and its older GCM path), Firefox
# (Mozilla autopush), Edge (Windows Push Notification Services), Safari (Apple).
DEFAULT_PUSH_HOSTS = [
    "fcm.googleapis.com",
    "android.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.notify.windows.com",
    "*.push.apple.com",
]


class SettingsError(ValueError):
    """Settings that must not be used to start the service; the message names the variable."""


class Settings(BaseSettings):
    """Everything the cloud service reads from its environment (prefix ``CAREWATCH_``)."""

    model_config = SettingsConfigDict(env_prefix="CAREWATCH_", extra="ignore")

    production: bool = Field(
        default=False, description="Production mode: refuse to start with missing secrets."
    )
    features: list[str] = Field(
        default=["cloud.dispatch", "cloud.notify", "cloud.webapp", "cloud.console"],
        description="Feature modules whose install(app) is called (JSON list).",
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/carewatch.db",
        description="SQLAlchemy async URL; SQLite (aiosqlite) or PostgreSQL (asyncpg).",
    )
    migrate_on_start: bool = Field(
        default=True, description="Apply Alembic migrations when the service starts."
    )
    database_pool_size: int = Field(
        default=10, ge=1, le=200, description="PostgreSQL connections kept (as many more on peaks)."
    )
    data_dir: Path = Field(default=Path("var"), description="Local files: the InfluxDB buffer.")
    influx_url: str = Field(default="http://127.0.0.1:8086", description="InfluxDB HTTP API.")
    influx_database: str = Field(default="carewatch", description="Created if missing.")
    influx_username: str | None = Field(default=None, description="InfluxDB user, if auth is on.")
    influx_password: SecretStr | None = Field(default=None, description="InfluxDB password.")
    influx_batch_lines: int = Field(default=5000, ge=1, description="Lines per write request.")
    influx_flush_ms: int = Field(
        default=0, ge=0, description="Extra wait to fill a batch (0: group commit only)."
    )
    influx_buffer_max_lines: int = Field(
        default=5_000_000,
        ge=1,
        description="Bound of the durable buffer used while InfluxDB is down.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Pepper for operator token hashes; required in production."
    )
    token_ttl_hours: float = Field(
        default=12.0, gt=0, le=24 * 90, description="Lifetime of an operator login token."
    )
    gateway_auth_cache_s: float = Field(
        default=30.0, ge=0, description="How long a verified gateway credential is trusted."
    )
    heartbeat_timeout_s: float = Field(
        default=300.0, gt=0, description="Silence after which a gateway is offline."
    )
    heartbeat_flush_s: float = Field(default=1.0, gt=0, description="Heartbeat write coalescing.")
    monitor_interval_s: float = Field(default=15.0, gt=0, description="Offline check period.")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL for links.")
    twilio_account_sid: str | None = Field(default=None, description="Twilio account (SMS).")
    twilio_auth_token: SecretStr | None = Field(
        default=None, description="Twilio auth token; required in production with an account."
    )
    twilio_from_number: str | None = Field(default=None, description="Sender number for SMS.")
    twilio_base_url: str | None = Field(
        default=None, description="Override of Twilio's API base (a local stand-in in tests)."
    )
    vapid_public_key: str | None = Field(default=None, description="Web push VAPID public key.")
    vapid_private_key: SecretStr | None = Field(
        default=None,
        description="Web push VAPID private key; required in production with a public key.",
    )
    vapid_subject: str = Field(
        default="mailto:ops@carewatch.invalid", description="Contact in web push requests."
    )
    push_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=DEFAULT_PUSH_HOSTS,
        description="Hosts push endpoints may name (comma-separated or JSON; `*.` = subdomains).",
    )
    push_allow_loopback: bool = Field(
        default=False,
        description="Tests and demo only: let push go to a stand-in on loopback (also http).",
    )

    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="Largest request body; larger ones get 413."
    )
    login_account_failures: int = Field(
        default=5, ge=1, description="Failed logins per account within the window before 429."
    )
    login_client_failures: int = Field(
        default=20, ge=1, description="Failed logins per client address within the window."
    )
    login_window_s: float = Field(
        default=900.0, gt=0, description="Window over which failed logins are counted."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Proxy addresses/networks whose X-Forwarded-For is believed (comma-separated).",
    )

    @field_validator("push_allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if not self.production:
            return self
        missing: list[str] = []
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(key) < 32 or key == DEV_SECRET:
            missing.append("CAREWATCH_SECRET_KEY (at least 32 characters)")
        if self.twilio_account_sid and not self.twilio_auth_token:
            missing.append("CAREWATCH_TWILIO_AUTH_TOKEN")
        if self.vapid_public_key and not self.vapid_private_key:
            missing.append("CAREWATCH_VAPID_PRIVATE_KEY")
        if self.push_allow_loopback:
            missing.append("CAREWATCH_PUSH_ALLOW_LOOPBACK unset (tests and demo only)")
        if self.influx_username and not self.influx_password:
            missing.append("CAREWATCH_INFLUX_PASSWORD")
        if missing:
            raise SettingsError("production mode needs " + ", ".join(missing))
        return self

    @property
    def pepper(self) -> bytes:
        """Key for operator token hashes."""
        key = self.secret_key.get_secret_value() if self.secret_key else DEV_SECRET
        return key.encode()
