"""Real services for the integration tests and the benchmarks: SMTP sink, Redis, worker, beat."""

import asyncio
import contextlib
import email
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from kombu import pools as kombu_pools

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CELERY = BASE_DIR / ".venv" / "bin" / "celery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.05, detail=None):
    """Poll until predicate() is true; fail after timeout seconds, saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


# SMTP -------------------------------------------------------------------------------------------


@dataclass
class Received:
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    at: float
    message: email.message.EmailMessage


class SinkHandler:
    """Accept, delay or refuse messages the way a real mail server may."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.tempfail_remaining = 0  # answer 451 to the next n DATA commands
        self.tempfailed = 0
        self.refused_prefix = ""  # answer 550 to recipients starting with this
        self.hold_at = 0  # hold the reply to the n-th accepted DATA until released
        self.data_count = 0
        self.holding = threading.Event()
        self.release = threading.Event()
        self.abandoned = threading.Event()  # the client of the held message went away

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refused_prefix and address.startswith(self.refused_prefix):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            if self.tempfail_remaining > 0:
                self.tempfail_remaining -= 1
                self.tempfailed += 1
                return "451 4.3.0 Try again later"
            self.data_count += 1
            hold = self.data_count == self.hold_at
        if hold:
            self.holding.set()
            # If the client dies meanwhile, aiosmtpd cancels this coroutine: nothing is recorded,
            # as no real server would deliver a message it never acknowledged.
            try:
                while not self.release.is_set():
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                self.abandoned.set()
                raise
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.received.append(
                Received(
                    message_id=str(parsed["Message-ID"]),
                    recipients=tuple(envelope.rcpt_tos),
                    subject=str(parsed["Subject"]),
                    at=time.time(),
                    message=parsed,
                )
            )
        return "250 Message accepted for delivery"

    def hold_next(self) -> None:
        """Hold the reply to the next accepted DATA until released (its events start afresh)."""
        self.holding.clear()
        self.release.clear()
        self.abandoned.clear()
        with self.lock:
            self.hold_at = self.data_count + 1

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def duplicates(self) -> dict[str, int]:
        counts = Counter(r.message_id for r in self.snapshot())
        return {mid: n for mid, n in counts.items() if n > 1}


class SmtpSink:
    def __init__(self):
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.handler.release.set()
        self.controller.stop()


# Redis ------------------------------------------------------------------------------------------


def redis_ping(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


class RedisServer:
    """A throw-away redis-server on a free port that a test may stop and start again."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis_ping(self.url), timeout=10, what="redis-server to answer")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


# Processes ----------------------------------------------------------------------------------------


class ManagedProcess:
    """A server process in its own process group, logging to a file, that a test stops for sure.

    Subclasses build the command line and say when the process is ready; `kill()` is the crash
    (SIGKILL to the whole group: pool children included), `stop()` the orderly shutdown.
    """

    stop_signal = signal.SIGTERM

    def __init__(self, *, log_path: Path):
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def spawn(self, args: list[str], *, env: dict, cwd: Path = BASE_DIR) -> subprocess.Popen:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.process

    def wait_ready(self, predicate, *, timeout: float, what: str) -> None:
        """Wait until predicate() holds; fail at once, with the log, if the process exits."""

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"{what} exited early:\n{self.log_tail()}")
            return predicate()

        wait_until(ready, timeout=timeout, what=what, detail=self.log_tail)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, signum) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _forget(self) -> None:
        self.process = None
        if self._log is not None:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or the OOM killer would."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._forget()

    def stop(self, *, timeout: float = 15) -> None:
        """Ask the process to stop; whatever is left of its group after `timeout` is killed."""
        if self.process is None:
            return
        self._signal_group(self.stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self._forget()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Worker(ManagedProcess):
    """A real `celery worker` (prefork, with an embedded beat) in its own process group."""

    def __init__(self, *, env: dict, log_path: Path, name: str, concurrency: int = 2, beat=True):
        super().__init__(log_path=log_path)
        self.env = env
        self.name = name
        self.concurrency = concurrency
        self.beat = beat
        self.restarts = 0

    def start(self, *, timeout: float = 40) -> "Worker":
        args = [
            str(CELERY),
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            f"--concurrency={self.concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            f"--hostname={self.name}@%h",
        ]
        if self.beat:
            args += ["--beat", f"--schedule={self.log_path.with_suffix('.beat')}"]
        self.spawn(args, env=self.env)
        self.wait_ready(
            lambda: b" ready." in self.log_path.read_bytes(),
            timeout=timeout,
            what=f"worker {self.name}",
        )
        return self

    def supervise(self) -> bool:
        """Start the worker again if it died on its own, as a process supervisor would.

        Return whether it had to. (kombu may give up with "Unrecoverable error" when Redis goes
        away while the worker holds unacknowledged messages; production relies on a restart
        policy for that, and so does this test.)
        """
        if self.process is None or self.process.poll() is None:
            return False
        self.restarts += 1
        self._forget()
        self.start()
        return True


class Beat(ManagedProcess):
    """`celery beat` in a process of its own, as deployed: it outlives the workers it feeds."""

    # Beat keeps nothing worth a graceful exit here: its schedule file is the test's own.
    stop_signal = signal.SIGKILL

    def __init__(self, *, env: dict, log_path: Path):
        super().__init__(log_path=log_path)
        self.env = env

    def start(self) -> "Beat":
        schedule = self.log_path.with_suffix(".schedule")
        args = [str(CELERY), "-A", "config", "beat", "--loglevel=INFO", f"--schedule={schedule}"]
        self.spawn(args, env=self.env)
        return self


def worker_env(*, database_url: str, broker_url: str, smtp_url: str, **extra: str) -> dict:
    """Environment of a worker that is not eager: a real broker, SMTP and the given database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "NOTIFICATIONS_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_URL": smtp_url,
            "EMAIL_TIMEOUT": "10",
            "NOTIFICATIONS_RETRY_BACKOFF": "0.3",
            "NOTIFICATIONS_RETRY_BACKOFF_MAX": "2",
            "NOTIFICATIONS_SWEEP_INTERVAL": "1",
            "NOTIFICATIONS_SWEEP_GRACE": "2",
            # A killed worker's embedded beat holds the beat lock this long; its heir then sweeps.
            "BEAT_LOCK_TIMEOUT": "3",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def database_url(settings_dict: dict) -> str:
    """The URL of a Django database, for a process that must see the same data."""
    from urllib.parse import quote

    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


@contextlib.contextmanager
def celery_publishing_to(broker_url: str):
    """Make this process publish tasks to a real broker instead of running them eagerly."""
    from config.celery_app import app

    def reset_pools():
        if app._pool is not None:
            with contextlib.suppress(Exception):
                app._pool.force_close_all()
        app._pool = None
        with contextlib.suppress(AttributeError, KeyError):
            app.__dict__["amqp"]._producer_pool = None
        # kombu keeps its producer pools in a registry of its own, keyed by broker URL: one left
        # there wraps the connection pool closed above, and the next eager task of this process
        # (the memory:// broker of the test settings) would fail with "Acquire on closed pool".
        kombu_pools.reset()

    old = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=broker_url, task_always_eager=False)
    reset_pools()
    try:
        yield app
    finally:
        app.conf.update(**old)
        reset_pools()
