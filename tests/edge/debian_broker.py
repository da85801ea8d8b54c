"""Mosquitto as installed on Debian 12 / Raspberry Pi OS: Debian's own main file (a copy in
fixtures/, paths moved into a temp dir) including deploy/mosquitto/carewatch.conf from its
conf.d, with logins and the ACL that ``carewatch-gateway broker-auth`` writes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from edge.brokerauth import BrokerAuth
from testbed import MosquittoServer

REPO = Path(__file__).resolve().parents[2]
DEBIAN_MAIN = Path(__file__).parent / "fixtures" / "debian-mosquitto.conf"
DROP_IN = REPO / "deploy" / "mosquitto" / "carewatch.conf"
SHIPPED_LISTENER = "listener 1883 127.0.0.1"


class DebianMosquitto(MosquittoServer):
    """The packaged layout under ``workdir``: etc/ (main file, conf.d/, passwd, acl), run/,
    lib/ (persistence), log/ (Debian's log file). ``restart()`` keeps the persistence."""

    name = "mosquitto"

    def __init__(
        self,
        auth: BrokerAuth,
        passwords: dict[str, str],
        *,
        drop_in: str | None = None,
        workdir: Path | None = None,
    ) -> None:
        super().__init__(workdir, passwords=passwords)
        self.auth = auth
        self.drop_in = DROP_IN.read_text() if drop_in is None else drop_in
        self.etc = self.workdir / "etc"
        self.persistence = self.workdir / "lib"
        self.debian_log = self.workdir / "log" / "mosquitto.log"
        self.gateway_filters: list[str] = []  # what the gateway of this home subscribes to

    def _move(self, text: str) -> str:
        for system, private in (
            ("/etc/mosquitto/", self.etc),
            ("/run/mosquitto/", self.workdir / "run"),
            ("/var/lib/mosquitto/", self.persistence),
            ("/var/log/mosquitto/", self.debian_log.parent),
        ):
            text = text.replace(system, f"{private}/")
        return text

    def _write_config(self) -> Path:
        for d in (
            self.etc / "conf.d",
            self.workdir / "run",
            self.persistence,
            self.debian_log.parent,
        ):
            d.mkdir(parents=True, exist_ok=True)
        main = self._move(DEBIAN_MAIN.read_text())
        for line in main.splitlines():
            if line.startswith(("pid_file", "persistence_location", "log_dest", "include_dir")):
                assert str(self.workdir) in line, f"a system path left in the main file: {line}"
        assert SHIPPED_LISTENER in self.drop_in, "the drop-in's local listener moved"
        drop_in = self._move(self.drop_in).replace(
            SHIPPED_LISTENER, f"listener {self.port} 127.0.0.1"
        )
        (self.etc / "conf.d" / "carewatch.conf").write_text(drop_in)
        if os.geteuid() == 0:  # the testbed runs as root: keep it from switching user
            (self.etc / "conf.d" / "00-testbed.conf").write_text("user root\n")
        pwfile = self.etc / "carewatch.passwd"
        pwfile.write_text("".join(f"{u}:{p}\n" for u, p in (self.passwords or {}).items()))
        subprocess.run(["mosquitto_passwd", "-U", str(pwfile)], check=True, capture_output=True)
        pwfile.chmod(0o600)
        (self.etc / "carewatch.acl").write_text(self.auth.acl)
        conf = self.etc / "mosquitto.conf"
        conf.write_text(main)
        return conf

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the broker gracefully (it saves its persistence), start it again."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
        super().restart(down_for)
