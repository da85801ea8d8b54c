"""Validation of Twilio's ``X-Twilio-Signature`` against the service's public URL."""

from __future__ import annotations

from fastapi import HTTPException, Request, status
from twilio.request_validator import RequestValidator

from cloud.settings import Settings


async def signed_form(request: Request) -> dict[str, str]:
    """The form parameters of a webhook whose signature is valid; 403 otherwise.

    The signed URL is ``CAREWATCH_PUBLIC_URL`` + path (+ query), the URL Twilio was given,
    not whatever host the request reached us through.
    """
    settings: Settings = request.app.state.settings
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "X-Twilio-Signature: missing")
    form = await request.form()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    url = settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not RequestValidator(token).validate(url, params, signature):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "X-Twilio-Signature: invalid")
    account = settings.twilio_account_sid
    if account and params.get("AccountSid", account) != account:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "AccountSid: not this account")
    return params
