"""Hot reload of the home manifest: a changed file is validated and applied while running.

The home manifest (and the config file's ``devices``, where ``pair`` adds) is watched by
polling: a changed mtime or size is confirmed by a changed SHA-256, so rewriting the same
content does nothing. A new manifest is built in full (routes, detectors) before anything
changes; a bad one is refused with its file, line and field, and the last good one stays
in effect. A good one travels through the pipeline as a barrier (``HomeSwap``) so every
stage switches between the same two messages: decode routes by the new table from there
on (messages of removed devices are quarantined as unknown), detect swaps in the rebuilt
detectors with the learned state of every device whose profile is unchanged, and of the
home-wide detectors, carried over at that point.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.detectors.base import DetectorBank
from edge.routing import Router
from protocol import HomeManifest

log = logging.getLogger(__name__)


class HomeReloadError(ValueError):
    """A home manifest change the running gateway cannot take; it keeps the last good one."""


@dataclass(frozen=True, slots=True)
class HomeChange:
    """Device ids added, removed and changed (any field) between two manifests."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    kept_state: frozenset[str]  # devices whose detector state carries over (same profile)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def describe(self) -> str:
        """``added=a,b removed=- changed=c``."""
        return " ".join(
            f"{name}={','.join(ids) or '-'}"
            for name, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
            )
        )


def diff_homes(old: HomeManifest, new: HomeManifest) -> HomeChange:
    """What changed in the paired devices; refuses a change of home or gateway id."""
    for name in ("home_id", "gateway_id"):
        if getattr(old, name) != getattr(new, name):
            raise HomeReloadError(
                f"{name}: changed from {getattr(old, name)!r} to {getattr(new, name)!r}; "
                "a gateway keeps its identity while running (restart it for another home)"
            )
    before = {d.device_id: d for d in old.devices}
    after = {d.device_id: d for d in new.devices}
    return HomeChange(
        added=tuple(sorted(after.keys() - before.keys())),
        removed=tuple(sorted(before.keys() - after.keys())),
        changed=tuple(sorted(i for i in before.keys() & after.keys() if before[i] != after[i])),
        kept_state=frozenset(
            i for i in before.keys() & after.keys() if before[i].profile == after[i].profile
        ),
    )


def carried_state(states: list[dict[str, Any]], change: HomeChange) -> list[dict[str, Any]]:
    """The detector states (``DetectorBank.state()``) that carry over to the new bank."""
    return [s for s in states if s.get("device_id") is None or s["device_id"] in change.kept_state]


@dataclass(eq=False)
class HomeSwap:
    """A validated manifest and what was built from it, on its way through the stages."""

    home: HomeManifest
    router: Router
    bank: DetectorBank
    heartbeats: dict[str, float]
    change: HomeChange
    routed: asyncio.Event = field(default_factory=asyncio.Event)  # decode switched


class FileWatch:
    """Tells when any of some files changed content since the last look."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._stat: dict[Path, tuple[int, int] | None] = {p: self._stat_of(p) for p in paths}
        self._hash: dict[Path, str | None] = {p: self._hash_of(p) for p in paths}

    @staticmethod
    def _stat_of(path: Path) -> tuple[int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    @staticmethod
    def _hash_of(path: Path) -> str | None:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None

    def changed(self) -> bool:
        """Whether a file's content differs from the last look (a touch alone is not)."""
        found = False
        for path in self.paths:
            stat = self._stat_of(path)
            if stat == self._stat[path]:
                continue
            self._stat[path] = stat
            digest = self._hash_of(path)
            if digest != self._hash[path]:
                self._hash[path] = digest
                found = True
        return found
