"""An S3-compatible server of the tests' own: moto in server mode on a free port (moto[server]).

It speaks the real S3 HTTP API, so django-storages, boto3 and any process given `env()` (gunicorn,
a Celery worker) talk to it as they would to a bucket in production. Objects live in the server's
memory and are gone when it stops.

    with S3Server() as server:
        server.create_bucket("attachments")
        settings.STORAGES["default"] = server.storage_config("attachments")
"""

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from core.storage import s3_storage_config

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = BASE_DIR / ".venv" / "bin"


def moto_command() -> list[str] | None:
    """The command that starts moto's server from this project's .venv, or None without it."""
    for candidate in (VENV_BIN / "moto_server", Path(sys.executable).parent / "moto_server"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("moto_server")
    if found:
        return [found]
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "moto.server"]


def moto_missing() -> str:
    """Why moto's server cannot be started here ("" when it can)."""
    if moto_command() is None:
        return "moto's S3 server (moto[server], in the dev extra: make install)"
    try:
        import boto3  # noqa: F401
    except ImportError:
        return "boto3 (make install)"
    return ""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3ServerError(RuntimeError):
    """moto's server did not start or did not answer."""


class S3Server:
    """A moto S3 server in a subprocess on a port of its own; `stop()` ends it for sure."""

    access_key = "s3-test-access-key"
    secret_key = "s3-test-secret-key"  # moto accepts any keys
    region = "us-east-1"

    def __init__(self, *, start_timeout: float = 30.0):
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise S3ServerError("the S3 server is not started")
        return f"http://127.0.0.1:{self.port}"

    # Life cycle ------------------------------------------------------------------------------

    def start(self) -> "S3Server":
        command = moto_command()
        if command is None:
            raise S3ServerError(moto_missing())
        # A port found free may be taken before the server binds it: try another a few times.
        last_error = ""
        for _attempt in range(3):
            self.port = _free_port()
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
            self.process = subprocess.Popen(
                [*command, "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                self._wait_until_ready()
                return self
            except S3ServerError as exc:
                last_error = str(exc)
                self.stop()
        raise S3ServerError(last_error)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise S3ServerError(
                    f"moto's server exited with {self.process.returncode}:\n{self.log()}"
                )
            if self.answers():
                return
            if time.monotonic() > deadline:
                raise S3ServerError(
                    f"moto's server did not answer on {self.endpoint_url} within "
                    f"{self.start_timeout}s:\n{self.log()}"
                )
            time.sleep(0.1)

    def answers(self) -> bool:
        """Whether the server answers HTTP (any status: an S3 error is an answer)."""
        # Straight to the port: a proxy named in the environment must not answer for it.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.endpoint_url}/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # Buckets ---------------------------------------------------------------------------------

    def client(self):
        """A boto3 S3 client for this server (what a test uses to look at the bucket)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create a private bucket (a fresh name when none is given) and return its name."""
        name = name or f"test-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def delete_bucket(self, name: str) -> None:
        """Empty a bucket and delete it."""
        client = self.client()
        with contextlib.suppress(client.exceptions.NoSuchBucket):
            paginator = client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=name):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=name, Delete={"Objects": keys})
            client.delete_bucket(Bucket=name)

    def keys(self, bucket: str) -> list[str]:
        """The keys in a bucket, sorted."""
        paginator = self.client().get_paginator("list_objects_v2")
        return sorted(
            item["Key"]
            for page in paginator.paginate(Bucket=bucket)
            for item in page.get("Contents", [])
        )

    def storage_config(self, bucket: str, *, location: str = "") -> dict:
        """settings.STORAGES["default"] for a bucket of this server, as production builds it."""
        return s3_storage_config(
            bucket=bucket,
            endpoint_url=self.endpoint_url,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            location=location,
        )

    def env(self, bucket: str, *, location: str = "") -> dict[str, str]:
        """The environment variables that point another process's settings at a bucket."""
        variables = {
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": self.region,
        }
        if location:
            variables["AWS_LOCATION"] = location
        return variables
