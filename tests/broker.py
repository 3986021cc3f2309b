"""A real Mosquitto broker for integration tests, on a loopback port chosen at run time.

`MosquittoBroker` runs the `mosquitto` binary with a config file, a persistence directory and a log
file, all kept in one work directory. Use it through the `mosquitto` and `mosquitto_session` fixtures
in `tests/conftest.py`, or directly as a context manager:

    with MosquittoBroker(tmp_path) as broker:
        ...  # connect to broker.host, broker.port

The port is never fixed (the machine may already run Mosquitto on 1883). Mosquitto 2.0 reads
`listener 0` as a Unix socket path rather than "any port", so the broker cannot bind port 0 itself:
a free port is found by binding a probe socket to 127.0.0.1:0, and when another process takes that
port first, the start is retried on a new port (`BIND_ATTEMPTS` times).

`stop()` sends SIGTERM, on which Mosquitto writes its in-memory database (persistent sessions and
their queued QoS 1/2 messages) to the persistence directory; `start()` brings it back on the same
port and the same directory, so clients reconnect to the same URL and find their sessions.
`kill()` sends SIGKILL instead, which loses whatever was not yet saved, like a crash.

Every wait is bounded: `READY_TIMEOUT_S` for the port to accept TCP connections, `STOP_TIMEOUT_S`
for the process to exit after SIGTERM (then SIGKILL). Failures raise `BrokerError` with the log.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

HOST = "127.0.0.1"
FALLBACK_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
BIND_ATTEMPTS = 5
READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05
ADDRESS_IN_USE = "Address already in use"
RUNNING_MARKER = " running"  # "mosquitto version 2.0.11 running", logged once listeners are open
MISSING_BINARY_MESSAGE = (
    "the mosquitto broker binary was not found on PATH or in /usr/sbin; the integration tests need "
    "a real Mosquitto. Run the README's test command, scripts/test, which installs it "
    "(apt-get install mosquitto) and then runs the tests."
)


class BrokerError(RuntimeError):
    """The mosquitto binary is missing, or the broker failed to start or to stop."""


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary: PATH first, then the sbin directories Debian installs it to."""
    found = shutil.which("mosquitto")
    if found is not None:
        return found
    return next((path for path in FALLBACK_PATHS if os.access(path, os.X_OK)), None)


def pick_free_port(host: str = HOST) -> int:
    """A TCP port that was free on host a moment ago (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def render_config(host: str, port: int, persistence_dir: Path) -> str:
    """The mosquitto.conf text: one loopback listener, anonymous access, persistence, big queues.

    `user` names the current user: when run as root, Mosquitto otherwise drops to the `mosquitto`
    user, which cannot write to a root-owned temporary directory (for other users it is ignored).
    """
    lines = [
        f"listener {port} {host}",
        "allow_anonymous true",
        f"user {pwd.getpwuid(os.geteuid()).pw_name}",
        "persistence true",
        f"persistence_location {persistence_dir}/",
        "persistence_file mosquitto.db",
        "max_queued_messages 100000",
        "max_queued_bytes 0",
        "max_inflight_messages 0",
        "set_tcp_nodelay true",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
    ]
    return "\n".join(lines) + "\n"


class MosquittoBroker:
    """One Mosquitto process at a time, restartable on the same port and persistence directory."""

    def __init__(self, workdir: Path, executable: str | None = None, host: str = HOST) -> None:
        found = executable if executable is not None else find_mosquitto()
        if found is None:
            raise BrokerError(MISSING_BINARY_MESSAGE)
        self.executable = found
        self.host = host
        self.port = 0
        self.workdir = workdir
        self.config_path = workdir / "mosquitto.conf"
        self.persistence_dir = workdir / "persistence"
        self.log_path = workdir / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """`mqtt://127.0.0.1:<port>`; the port is 0 until the first `start()`."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_text(self, offset: int = 0) -> str:
        """What the broker has logged so far, across restarts, from byte offset on."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def start(self) -> None:
        """Start the broker; after a `stop()`, on the same port and the same persistence directory."""
        if self.running:
            raise BrokerError(f"mosquitto is already running on {self.url}")
        if self.port:
            if not self._start_on(self.port):
                raise BrokerError(f"mosquitto could not bind {self.url} again:\n{self.log_text()}")
            return
        for _ in range(BIND_ATTEMPTS):
            port = pick_free_port(self.host)
            if self._start_on(port):
                self.port = port
                return
        raise BrokerError(f"mosquitto found no free port in {BIND_ATTEMPTS} attempts:\n{self.log_text()}")

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its database), wait `STOP_TIMEOUT_S`, then SIGKILL. Idempotent."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def kill(self) -> None:
        """SIGKILL, like a crash: messages queued since the last save are lost. Idempotent."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_on(self, port: int) -> bool:
        """Launch on port and wait until it accepts connections; False when the port was taken."""
        self.persistence_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_config(self.host, port, self.persistence_dir))
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = self._spawn(log)
        if self._wait_ready(port, log_offset):
            return True
        self.stop()
        new_log = self.log_text(log_offset)
        if ADDRESS_IN_USE in new_log:
            return False
        raise BrokerError(f"mosquitto exited on startup (port {port}):\n{self.log_text()}")

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        command = [self.executable, "-c", str(self.config_path)]
        return subprocess.Popen(
            command, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )

    def _wait_ready(self, port: int, log_offset: int) -> bool:
        """True once the broker logs that it runs and port accepts TCP; False if it exits first.

        The log line guards against a foreign process that took the port before Mosquitto did: a
        connection to it would succeed, but this Mosquitto would never log that it is running.
        """
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.running:
                return False
            if RUNNING_MARKER in self.log_text(log_offset) and self._accepts(port):
                return True
            time.sleep(POLL_INTERVAL_S)
        self.stop()
        raise BrokerError(
            f"mosquitto did not accept connections on {self.host}:{port} within {READY_TIMEOUT_S} s:\n{self.log_text()}"
        )

    def _accepts(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=READY_TIMEOUT_S / 10):
                return True
        except OSError:
            return False
