"""Start and stop real Mosquitto, InfluxDB 1.x and PostgreSQL servers on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

HOST = "127.0.0.1"


class ServiceError(RuntimeError):
    """A service that could not be found or started; the message says which and why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _find(binary: str, *extra_dirs: str) -> str:
    path = shutil.which(binary)
    if path:
        return path
    for d in extra_dirs:
        candidate = Path(d) / binary
        if candidate.exists():
            return str(candidate)
    raise ServiceError(f"{binary} not found on PATH; run `make bootstrap` (scripts/bootstrap.sh)")


def _wait_port(
    port: int, proc: subprocess.Popen[bytes], name: str, timeout: float, log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"{name} exited with {proc.returncode}: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise ServiceError(f"{name} did not listen on {HOST}:{port} within {timeout}s: {_tail(log)}")


def _tail(log: Path, n: int = 1500) -> str:
    try:
        return log.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


class _Server:
    name = "service"

    def __init__(self, workdir: str | Path | None = None) -> None:
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"carewatch-{self.name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / f"{self.name}.log"

    def _spawn(self, argv: list[str], *, user: str | None = None) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        preexec = None
        if user is not None:
            pw = pwd.getpwnam(user)

            def preexec() -> None:
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)

        self.proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=preexec,
            start_new_session=True,
        )
        return self.proc

    def start(self) -> Self:
        """Start the server and wait until it accepts connections."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its private files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the server (a crash), keeping its files so it can be started again."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class MosquittoServer(_Server):
    """A private Mosquitto broker (anonymous, no persistence) on a free loopback port.

    ``restart()`` keeps the same port, to test reconnects.
    """

    name = "mosquitto"

    def __init__(
        self,
        workdir: str | Path | None = None,
        *,
        passwords: dict[str, str] | None = None,
    ) -> None:
        super().__init__(workdir)
        self.passwords = passwords

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``."""
        return f"mqtt://{HOST}:{self.port}"

    def _write_config(self) -> Path:
        conf = self.workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} {HOST}",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
        ]
        if self.passwords:
            pwfile = self.workdir / "passwd"
            pwfile.write_text("".join(f"{u}:{p}\n" for u, p in self.passwords.items()))
            subprocess.run(
                [_find("mosquitto_passwd"), "-U", str(pwfile)], check=True, capture_output=True
            )
            pwfile.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        if os.geteuid() == 0:
            lines.insert(0, "user root")
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> Self:
        conf = self._write_config()
        proc = self._spawn([_find("mosquitto", "/usr/sbin"), "-c", str(conf)])
        _wait_port(self.port, proc, "mosquitto", 10, self.log_path)
        return self

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the broker, wait ``down_for`` seconds, start it again on the same port."""
        self.kill()
        time.sleep(down_for)
        self.start()


class InfluxServer(_Server):
    """A private InfluxDB 1.x (Debian's ``influxdb``) on a free loopback port."""

    name = "influxdb"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> Self:
        rpc_port = free_port()
        d = self.workdir
        conf = d / "influxdb.conf"
        conf.write_text(
            f"""reporting-disabled = true
bind-address = "{HOST}:{rpc_port}"
[meta]
  dir = "{d}/meta"
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
  trace-logging-enabled = false
[http]
  enabled = true
  bind-address = "{HOST}:{self.port}"
  log-enabled = false
  auth-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
"""
        )
        proc = self._spawn([_find("influxd", "/usr/bin"), "-config", str(conf)])
        _wait_port(self.port, proc, "influxd", 30, self.log_path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/ping", timeout=1) as resp,
            ):
                if resp.status == 204:
                    return self
            time.sleep(0.1)
        raise ServiceError(f"influxd at {self.url} did not answer /ping: {_tail(self.log_path)}")


class PostgresServer(_Server):
    """A private PostgreSQL cluster (initdb into a temp dir) on a free loopback port.

    Runs as the ``postgres`` system user when started by root (PostgreSQL refuses root).
    """

    name = "postgres"
    user = "carewatch"
    password = "carewatch"
    database = "carewatch"

    @property
    def url(self) -> str:
        """SQLAlchemy async URL (asyncpg driver)."""
        return (
            f"postgresql+asyncpg://{self.user}:{self.password}@{HOST}:{self.port}/{self.database}"
        )

    def _bindir(self) -> str:
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists():
                return str(candidate)
        initdb = shutil.which("initdb")
        if initdb:
            return str(Path(initdb).parent)
        raise ServiceError("PostgreSQL initdb not found; run `make bootstrap`")

    def start(self) -> Self:
        bindir = self._bindir()
        run_as = "postgres" if os.geteuid() == 0 else None
        data = self.workdir / "data"
        sock = self.workdir / "sock"
        if not data.exists():
            sock.mkdir(exist_ok=True)
            pwfile = self.workdir / "pw"
            pwfile.write_text(self.password + "\n")
            if run_as:
                pw = pwd.getpwnam(run_as)
                for p in (self.workdir, sock, pwfile):
                    os.chown(p, pw.pw_uid, pw.pw_gid)
            self._spawn(
                [
                    f"{bindir}/initdb",
                    "-D",
                    str(data),
                    "-U",
                    self.user,
                    "-A",
                    "scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                user=run_as,
            )
            assert self.proc is not None
            if self.proc.wait(timeout=120) != 0:
                raise ServiceError(f"initdb failed: {_tail(self.log_path)}")
        proc = self._spawn(
            [
                f"{bindir}/postgres",
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-h",
                HOST,
                "-k",
                str(sock),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            user=run_as,
        )
        _wait_port(self.port, proc, "postgres", 30, self.log_path)
        self._createdb(bindir, run_as)
        return self

    def _createdb(self, bindir: str, run_as: str | None) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        for _ in range(50):
            res = subprocess.run(
                [
                    f"{bindir}/psql",
                    "-h",
                    HOST,
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    "-d",
                    "postgres",
                    "-tAc",
                    f"SELECT 1 FROM pg_database WHERE datname='{self.database}'",
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            if res.returncode == 0:
                if res.stdout.strip() != "1":
                    subprocess.run(
                        [
                            f"{bindir}/createdb",
                            "-h",
                            HOST,
                            "-p",
                            str(self.port),
                            "-U",
                            self.user,
                            self.database,
                        ],
                        env=env,
                        check=True,
                        capture_output=True,
                    )
                return
            time.sleep(0.2)
        raise ServiceError(f"postgres on port {self.port} refused psql: {res.stderr}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
