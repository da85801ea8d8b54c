"""Child processes of the demo: started with logs to files, stopped together, always."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self


class DemoError(RuntimeError):
    """A demo step that failed; the message names the step and where its log is."""


@dataclass
class Child:
    """One child process and its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self, n: int = 2000) -> str:
        """The end of the child's log."""
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"


@dataclass
class ProcessGroup:
    """Starts children with their output in ``logdir``; stops all of them on exit."""

    logdir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> Child:
        """Start ``argv`` as child ``name``; output goes to ``logdir/name.log``."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        log = self.logdir / f"{name}.log"
        fh = log.open("ab")
        proc = subprocess.Popen(
            list(argv),
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def check_alive(self) -> None:
        """Raise DemoError naming any long-running child that died."""
        for c in self.children:
            code = c.proc.poll()
            if code is not None and code != 0:
                raise DemoError(f"{c.name} exited with {code}; log {c.log}:\n{c.tail()}")

    def stop(self, child: Child, timeout: float = 10.0) -> int | None:
        """SIGTERM one child, then SIGKILL after ``timeout`` seconds."""
        if child.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, signal.SIGTERM)
            try:
                child.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait(timeout=5)
        return child.proc.returncode

    def stop_all(self) -> None:
        """Stop every child, newest first."""
        for child in reversed(self.children):
            self.stop(child)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()


def wait_http(url: str, *, timeout: float, child: Child | None = None) -> None:
    """Wait until ``url`` answers 2xx; raise DemoError naming the url (and child log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.proc.poll() is not None:
            raise DemoError(f"{child.name} exited early; log {child.log}:\n{child.tail()}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as resp:
            if 200 <= resp.status < 300:
                return
        time.sleep(0.1)
    where = f"; log {child.log}:\n{child.tail()}" if child else ""
    raise DemoError(f"{url} did not answer within {timeout:.0f}s{where}")
