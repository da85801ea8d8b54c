"""SMS through the Twilio Python library's async client, with a configurable API base URL."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from cloud.notify.errors import DeliveryError
from cloud.privacy.policy import log_phone

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
RETRYABLE_CODES = {20429, 20003}
PERMANENT_CODES = {21211, 21610, 21614, 21612, 21408, 30003, 30004, 30005, 30006}


class BaseUrlAsyncHttpClient(AsyncTwilioHttpClient):
    """Twilio's async HTTP client with ``https://api.twilio.com`` rewritten to ``base_url``."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - signature of the base class
        allow_redirects: bool = False,
    ) -> Response:
        """Send the request to the configured base instead of Twilio's public API."""
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        if auth is not None:  # a header, not aiohttp's deprecated BasicAuth object
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        return await super().request(
            method, url, params, data, headers, None, timeout or self.timeout, allow_redirects
        )


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's blocking HTTP client with the API base rewritten (scripts and the demo)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send the request to the configured base instead of Twilio's public API."""
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, params, data, headers, auth, timeout, allow_redirects)


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """Twilio's answer to a send: the message SID and its first status."""

    provider_id: str
    status: str


class SmsSender:
    """Sends SMS with ``client.messages.create_async``; errors become ``DeliveryError``."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str | None = None,
        status_callback: str | None = None,
    ) -> None:
        self.from_number = from_number
        self.status_callback = status_callback
        http: AsyncTwilioHttpClient = (
            BaseUrlAsyncHttpClient(base_url) if base_url else AsyncTwilioHttpClient(timeout=10.0)
        )
        self._http = http
        self._client = Client(account_sid, auth_token, http_client=http)

    async def send(self, to: str, body: str) -> SmsReceipt:
        """Send one SMS; raises ``DeliveryError`` (retryable or permanent)."""
        kwargs: dict[str, Any] = {"to": to, "from_": self.from_number, "body": body}
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            msg = await self._client.messages.create_async(**kwargs)
        except TwilioRestException as exc:
            code = int(exc.code) if exc.code is not None else None
            permanent = code in PERMANENT_CODES or (
                exc.status in (400, 404) and code not in RETRYABLE_CODES
            )
            logger.warning(
                "twilio refused SMS to %s: status %s code %s", log_phone(to), exc.status, code
            )
            raise DeliveryError(
                f"twilio {exc.status} code {code}: {exc.msg}",
                code=str(code or exc.status),
                permanent=permanent,
                rate_limited=exc.status == 429 or code == 20429,
            ) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            logger.warning("twilio unreachable for SMS to %s: %s", log_phone(to), exc)
            raise DeliveryError(f"twilio unreachable: {exc}", code="network") from exc
        return SmsReceipt(provider_id=str(msg.sid), status=str(msg.status))

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()
