"""The console's pages and static files, served by the cloud itself (no CDN, works offline).

Every page is the same shell; ``app.js`` picks the view from the path.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).parent / "static"
MEDIA = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
FILES = {p.name: p for p in STATIC.iterdir() if p.suffix in MEDIA}
SHELL = STATIC / "index.html"
PAGES = frozenset({"login", "live", "map", "reports"})
ITEM_PAGES = frozenset({"tasks", "residents"})
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
}

router = APIRouter(prefix="/console", include_in_schema=False)


def _shell(known: bool, path: str) -> FileResponse:
    if not known:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"path: no console page {path!r}")
    return FileResponse(SHELL, media_type="text/html", headers=HEADERS)


@router.get("")
async def root() -> RedirectResponse:
    """The console starts at the live view."""
    return RedirectResponse("/console/live")


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    """One of the console's own files (404 for anything else)."""
    path = FILES.get(name)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"name: no console file {name!r}")
    return FileResponse(path, media_type=MEDIA[path.suffix], headers=HEADERS)


@router.get("/{page}")
async def page(page: str) -> FileResponse:
    """A top-level page: login, live, map, reports."""
    return _shell(page in PAGES, page)


@router.get("/{section}/{item}")
async def item_page(section: str, item: str) -> FileResponse:
    """An item page: a task or a resident."""
    return _shell(section in ITEM_PAGES, f"{section}/{item}")
