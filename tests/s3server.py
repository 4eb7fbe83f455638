"""An S3-compatible server of the tests' own: moto in server mode on a free port (moto[server]).

It speaks the real S3 HTTP API, so django-storages, boto3 and any process given `env()` (gunicorn,
a Celery worker) talk to it as they would to a bucket in production. Objects live in the server's
memory and are gone when it stops.

    with S3Server() as server:
        server.create_bucket("attachments")
        settings.STORAGES["default"] = server.storage_config("attachments")
"""

import contextlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from core.storage import s3_storage_config
from tests.notifications.live import ManagedProcess, free_port

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


class S3ServerError(RuntimeError):
    """moto's server did not start or did not answer."""


class S3Server(ManagedProcess):
    """A moto S3 server in a subprocess on a port of its own; `stop()` ends it for sure."""

    access_key = "s3-test-access-key"
    secret_key = "s3-test-secret-key"  # moto accepts any keys
    region = "us-east-1"

    def __init__(self, *, log_path: Path | None = None, start_timeout: float = 30.0):
        super().__init__(log_path=log_path or Path(tempfile.mkdtemp(prefix="moto-")) / "moto.log")
        self.start_timeout = start_timeout
        self.port: int | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise S3ServerError("the S3 server is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "S3Server":
        command = moto_command()
        if command is None:
            raise S3ServerError(moto_missing())
        self.port = free_port()
        self.spawn([*command, "-H", "127.0.0.1", "-p", str(self.port)], env=dict(os.environ))
        try:
            self.wait_ready(self.answers, timeout=self.start_timeout, what="moto's S3 server")
        except AssertionError as exc:
            self.stop()
            raise S3ServerError(str(exc)) from exc
        return self

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
