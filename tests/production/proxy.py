"""The shipped nginx as a process, and clients that behave like real (or stalled) browsers.

`Nginx` starts nginx through deploy/nginx/entrypoint.sh, exactly as the image does (render.sh
renders deploy/nginx/, then nginx runs in the foreground), only with the test's own port,
upstream and directories.
"""

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from tests.notifications.live import BASE_DIR, ManagedProcess, free_port
from tests.production.stack import PortalClient

DEPLOY = BASE_DIR / "deploy" / "nginx"
RENDER = DEPLOY / "render.sh"
ENTRYPOINT = DEPLOY / "entrypoint.sh"


def nginx_binary() -> str | None:
    """Debian's nginx (nginx-light), wherever the PATH of a non-root shell may miss it."""
    debian = "/usr/sbin/nginx"
    return shutil.which("nginx") or (debian if os.access(debian, os.X_OK) else None)


def render(out_dir: Path, env: dict) -> subprocess.CompletedProcess:
    """Run deploy/nginx/render.sh into out_dir with exactly env (plus PATH)."""
    return subprocess.run(
        ["sh", str(RENDER), str(out_dir)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        check=False,
    )


class Nginx(ManagedProcess):
    """nginx on a free port in front of an upstream, with all its files under one directory."""

    # SIGQUIT: graceful shutdown of the master and its workers.
    stop_signal = signal.SIGQUIT

    def __init__(self, *, upstream: str, root: Path, **env: str):
        super().__init__(log_path=root / "entrypoint.log")
        self.root = root
        self.port = free_port()
        self.conf_dir = root / "conf"
        self.access_log = root / "access.log"
        self.error_log = root / "error.log"
        self.env = {
            "NGINX_LISTEN": f"127.0.0.1:{self.port}",
            "NGINX_UPSTREAM": upstream,
            # As root the workers switch to this user, which must be able to read the test's
            # directories; as anyone else nginx ignores it.
            "NGINX_USER": getpass.getuser(),
            "NGINX_WORKER_PROCESSES": "2",
            "NGINX_STATE_DIR": str(root / "state"),
            "NGINX_ACCESS_LOG": str(self.access_log),
            "NGINX_ERROR_LOG": str(self.error_log),
            **env,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 15) -> "Nginx":
        binary = nginx_binary()
        path = os.environ.get("PATH", "/usr/bin:/bin")
        self.root.mkdir(parents=True, exist_ok=True)
        # Through the image's entrypoint: render.sh, then nginx in the foreground.
        self.spawn(
            ["sh", str(ENTRYPOINT), "-p", str(self.root), "-e", str(self.error_log)],
            env={
                "PATH": f"{Path(binary).parent}:{path}",
                "NGINX_CONF_DIR": str(self.conf_dir),
                **self.env,
            },
        )

        def answering():
            try:
                return requests.get(f"{self.url}/_proxy/health", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        self.wait_ready(answering, timeout=timeout, what="nginx")
        return self

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for log in (self.log_path, self.error_log):
            with contextlib.suppress(FileNotFoundError):
                text += log.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


# Clients ------------------------------------------------------------------------------------------


def client_from(source_address: str, base_url: str, **kwargs) -> PortalClient:
    """A PortalClient whose connections come from source_address (any of 127/8 on Linux)."""
    client = PortalClient(base_url, **kwargs)
    # Keep what PortalClient's own adapter does (its cookie handling), from another address.
    base: type[HTTPAdapter] = type(client.session.get_adapter(client.url("/")))

    class FromSourceAddress(base):
        def init_poolmanager(self, *args, **pool_kwargs):
            pool_kwargs["source_address"] = (source_address, 0)
            super().init_poolmanager(*args, **pool_kwargs)

    client.session.mount("http://", FromSourceAddress())
    return client


def stall_upload(
    base_url: str, path: str, *, cookie: str = "", content_length: int, sent: int = 64 * 1024
) -> socket.socket:
    """Start a multipart upload of content_length bytes, send `sent` of them, then go silent.

    Returns the open socket: the upload stays stalled until the caller closes it (or the server
    gives up on it).
    """
    host, port = base_url.removeprefix("http://").split(":")
    boundary = "----portal-stall-boundary"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="attachments"; filename="flash-dump.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + b"\0" * (sent - len(head))
    request = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {content_length}\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "\r\n"
    ).encode()
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(request + body)
    return sock


def still_open(sock: socket.socket) -> bool:
    """Whether the server has neither answered nor closed this connection yet."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return False  # an answer, or the end of the stream


def wait_closed_by_server(sock: socket.socket, *, timeout: float) -> bytes:
    """Read until the server closes the connection; return what it sent (maybe nothing)."""
    sock.settimeout(0.5)
    received = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server kept the stalled connection open for {timeout}s")


def answers_within(url: str, *, timeout: float, **kwargs) -> requests.Response | None:
    """GET url; the response, or None when it did not come within timeout seconds."""
    try:
        return requests.get(url, timeout=timeout, **kwargs)
    except (requests.ConnectionError, requests.Timeout):
        return None
