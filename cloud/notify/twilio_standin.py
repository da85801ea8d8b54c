"""A local stand-in for Twilio's Messages REST API, for tests, the demo and the benchmark.

It serves ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form-encoded, HTTP basic auth
with the account SID and auth token) and answers like Twilio: 201 with a message resource,
or an error body ``{"code", "message", "more_info", "status"}``. Faults can be injected
(429 / 20429 rate limiting, 21211 invalid number, 21610 unsubscribed). It can also play
Twilio's side of the webhooks: delivery status callbacks and inbound SMS replies, both
signed with ``X-Twilio-Signature`` by twilio's own ``RequestValidator``.

Usage::

    with TwilioStandin(account_sid, auth_token) as tw:
        settings.twilio_base_url = tw.url     # the service's SMS client now talks to tw
        ...
        tw.wait_for_messages(1)                # what was sent
        tw.send_reply(public_url + "/webhooks/twilio/sms", "+8613800000000", "A 42")
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from twilio.request_validator import RequestValidator

from cloud.notify.standin_http import QuietHandler, StandinServer

_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message the stand-in accepted."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    received_monotonic: float


@dataclass(slots=True)
class Fault:
    """An injected error answered instead of accepting a message."""

    status: int
    code: int
    message: str
    to: str | None = None  # only for this number, else any
    remaining: int = 1


@dataclass(slots=True)
class _State:
    messages: list[SentMessage] = field(default_factory=list)
    attempts: list[tuple[str, int]] = field(default_factory=list)  # (to, http status)
    faults: list[Fault] = field(default_factory=list)
    callbacks: list[tuple[str, int]] = field(default_factory=list)  # (url, http status)


class TwilioStandin(StandinServer):
    """Twilio's Messages endpoint on 127.0.0.1; see the module docstring."""

    def __init__(self, account_sid: str, auth_token: str, *, port: int = 0) -> None:
        super().__init__(port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.invalid_numbers: set[str] = set()
        self.unsubscribed: set[str] = set()
        self.state = _State()
        self._seq = itertools.count(1)
        self.handler_class = _TwilioHandler

    # ---- faults -------------------------------------------------------------------------
    def rate_limit(self, times: int = 1, to: str | None = None) -> None:
        """Answer the next ``times`` sends (to ``to``, or any) with 429 / 20429."""
        self.state.faults.append(Fault(429, 20429, "Too Many Requests", to, times))

    def fail(self, status: int, code: int, message: str, *, times: int = 1) -> None:
        """Answer the next ``times`` sends with an arbitrary error (e.g. 503 outage)."""
        self.state.faults.append(Fault(status, code, message, None, times))

    # ---- what was sent ------------------------------------------------------------------
    @property
    def messages(self) -> list[SentMessage]:
        """Messages accepted so far, in order."""
        with self.lock:
            return list(self.state.messages)

    @property
    def attempts(self) -> list[tuple[str, int]]:
        """Every create request as (to, HTTP status answered)."""
        with self.lock:
            return list(self.state.attempts)

    def wait_for_messages(
        self, n: int, timeout: float = 10.0, where: Callable[[SentMessage], bool] | None = None
    ) -> list[SentMessage]:
        """Block until ``n`` accepted messages (matching ``where``) exist; returns those.

        Raises TimeoutError.
        """
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                got = [m for m in self.state.messages if where is None or where(m)]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(got)} of {n} SMS within {timeout}s")
                self.lock.wait(left)

    # ---- Twilio's side of the webhooks --------------------------------------------------
    def signed_post(self, url: str, params: dict[str, str]) -> int:
        """POST form params to ``url`` signed as Twilio would; returns the HTTP status."""
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        req = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(params).encode(),
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status = int(resp.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
        with self.lock:
            self.state.callbacks.append((url, status))
        return status

    def send_status(
        self, sid: str, status: str = "delivered", error_code: int | None = None
    ) -> int:
        """Post a delivery status callback for a message that asked for one."""
        msg = next(m for m in self.messages if m.sid == sid)
        if not msg.status_callback:
            raise ValueError(f"message {sid} has no status callback")
        params = {
            "MessageSid": sid,
            "MessageStatus": status,
            "AccountSid": self.account_sid,
            "To": msg.to,
            "From": msg.from_,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self.signed_post(msg.status_callback, params)

    def send_reply(self, webhook_url: str, from_: str, body: str, to: str = "+10000000000") -> int:
        """Post an inbound SMS (a worker's reply) to the service's webhook."""
        params = {
            "MessageSid": f"SM{next(self._seq):032x}",
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
        }
        return self.signed_post(webhook_url, params)

    # ---- request handling (server thread) -----------------------------------------------
    def _create(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        to = form.get("To", "")
        with self.lock:
            fault = next(
                (f for f in self.state.faults if f.remaining > 0 and f.to in (None, to)), None
            )
            if fault is not None:
                fault.remaining -= 1
                self.state.attempts.append((to, fault.status))
                return fault.status, _error(fault.status, fault.code, fault.message)
        if (
            not to
            or not form.get("Body")
            or not (form.get("From") or form.get("MessagingServiceSid"))
        ):
            return self._record_error(to, 400, 21604, "A 'To', 'From' and 'Body' are required")
        if to in self.invalid_numbers:
            return self._record_error(to, 400, 21211, f"The 'To' number {to} is not valid.")
        if to in self.unsubscribed:
            return self._record_error(to, 400, 21610, "Attempt to send to unsubscribed recipient")
        sid = f"SM{next(self._seq):032x}"
        msg = SentMessage(
            sid,
            to,
            form.get("From", ""),
            form["Body"],
            form.get("StatusCallback"),
            time.monotonic(),
        )
        with self.lock:
            self.state.messages.append(msg)
            self.state.attempts.append((to, 201))
            self.lock.notify_all()
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": msg.from_,
            "body": msg.body,
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {},
        }

    def _record_error(
        self, to: str, status: int, code: int, message: str
    ) -> tuple[int, dict[str, object]]:
        with self.lock:
            self.state.attempts.append((to, status))
        return status, _error(status, code, message)


def _error(status: int, code: int, message: str) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _TwilioHandler(QuietHandler):
    def do_POST(self) -> None:
        owner: TwilioStandin = self.server.owner  # type: ignore[attr-defined]
        body = self.read_body()
        match = _PATH.match(urllib.parse.urlsplit(self.path).path)
        if match is None:
            self.send_body(404, json.dumps(_error(404, 20404, "Not found")).encode())
            return
        if match["sid"] != owner.account_sid or not self._authorized(owner):
            self.send_body(401, json.dumps(_error(401, 20003, "Authenticate")).encode())
            return
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        status, payload = owner._create(form)
        self.send_body(status, json.dumps(payload).encode())

    def _authorized(self, owner: TwilioStandin) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == owner.account_sid and password == owner.auth_token
