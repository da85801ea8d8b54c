"""Error answers: every validation problem names its field; database refusals are 4xx."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, TimeoutError

log = logging.getLogger(__name__)


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "alarms", 0, "kind")`` -> ``"alarms[0].kind"``."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def problem(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """A 422 body: FastAPI's ``detail`` list, each entry with a readable ``field``."""
    detail = []
    for err in errors:
        loc = list(err.get("loc", ()))
        detail.append(
            {
                "field": field_name(loc),
                "loc": loc,
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return {"detail": detail}


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(problem(list(exc.errors())), status_code=422)


async def _integrity(request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity conflict on %s %s: %s", request.method, request.url.path, exc.__class__)
    return JSONResponse({"detail": "conflict with existing data (duplicate or in use)"}, 409)


async def _data(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "a value is out of range for its field"}, 422)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "database unavailable, retry later"}, 503, headers={"Retry-After": "5"}
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(TimeoutError, _unavailable)
    app.add_exception_handler(OSError, _unavailable)  # e.g. connection refused
