"""The production path as processes: gunicorn on the production settings, and a client for it.

The tests under tests/production/ start what they need from here (and from
tests/notifications/live.py: Redis, the SMTP sink, the Celery worker), talk to it over HTTP and
stop it. Nothing here is imported by the portal.
"""

import os
import re
import secrets
import subprocess
import tempfile
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from requests.adapters import HTTPAdapter

from tests.notifications.live import BASE_DIR, ManagedProcess, free_port

GUNICORN = BASE_DIR / ".venv" / "bin" / "gunicorn"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def collected_static() -> Path:
    """Collect the static files once per test process, as the image does when it is built."""
    global _static_root
    if _static_root is None:
        root = Path(tempfile.mkdtemp(prefix="portal-static-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
        subprocess.run(
            [str(BASE_DIR / ".venv" / "bin" / "python"), "manage.py", "collectstatic", "--noinput"],
            cwd=BASE_DIR,
            env={
                **env,
                "DJANGO_SETTINGS_MODULE": "config.settings.build",
                "STATIC_ROOT": f"{root}",
            },
            check=True,
            capture_output=True,
        )
        _static_root = root
    return _static_root


_static_root: Path | None = None


def production_env(
    *, database_url: str, redis_url: str, email_url: str, media_root: Path, **extra: str | None
) -> dict:
    """Environment of a process on config.settings.production, every required variable set."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CI")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # TLS ends at the proxy; tests speak plain HTTP to it or to gunicorn.
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": redis_url,
            "EMAIL_URL": email_url,
            "EMAIL_TIMEOUT": "10",
            "DEFAULT_FROM_EMAIL": "Support <support@example.com>",
            "PORTAL_BASE_URL": "https://support.example.com",
            "PRIVATE_MEDIA_ROOT": str(media_root),
            "STATIC_ROOT": str(collected_static()),
            "REMOTE_ACCESS_KEYS": Fernet.generate_key().decode(),
            "AXES_PROXY_COUNT": "0",
            # Staff log in with a password alone here; test_two_factor.py turns it on.
            "STAFF_REQUIRE_2FA": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    # None leaves a variable unset: the settings' own default applies.
    return {name: value for name, value in env.items() if value is not None}


class Gunicorn(ManagedProcess):
    """`gunicorn config.wsgi` on a free port, in its own process group, logging to a file."""

    def __init__(self, *, env: dict, log_path: Path, workers: int = 2, args: tuple = ()):
        super().__init__(log_path=log_path)
        self.env = env
        self.workers = workers
        self.args = args
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 40) -> "Gunicorn":
        bind = f"127.0.0.1:{self.port}"
        self.spawn(
            [
                str(GUNICORN),
                "config.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(self.workers),
                "--timeout",
                "30",
                *self.args,
            ],
            env=self.env,
        )

        def answering():
            try:
                return requests.get(f"{self.url}/health/", timeout=2).status_code < 500
            except requests.RequestException:
                return False

        self.wait_ready(answering, timeout=timeout, what="gunicorn")
        return self


class _KeepSecureCookiesOverHTTP(HTTPAdapter):
    """Drop the Secure flag from cookies as they arrive, so they go back over plain HTTP."""

    def build_response(self, req, resp):
        headers = getattr(resp, "_original_response", None)
        headers = headers.msg if headers is not None else None
        cookies = headers.get_all("Set-Cookie") if headers is not None else None
        if cookies:
            del headers["Set-Cookie"]
            for cookie in cookies:
                headers["Set-Cookie"] = re.sub(r";\s*Secure(?=;|$)", "", cookie, flags=re.I)
        return super().build_response(req, resp)


class PortalClient:
    """A browser-like HTTP client: keeps cookies, sends the CSRF token, follows redirects."""

    def __init__(self, base_url: str, *, headers: dict | None = None, timeout: float = 15):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        # Keep Secure cookies over plain HTTP: the tests stand where the TLS proxy would.
        self.session.mount("http://", _KeepSecureCookiesOverHTTP())
        # Django sees what the proxy tells it: the original request was HTTPS.
        self.session.headers.update({"X-Forwarded-Proto": "https", **(headers or {})})
        self.timeout = timeout

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.get(self.url(path), **kwargs)

    def csrf_token(self, page: requests.Response) -> str:
        found = CSRF_INPUT.search(page.text)
        assert found, f"no CSRF token on {page.url} ({page.status_code})"
        return found.group(1)

    def submit(self, path: str, data: dict, *, files=None, **kwargs) -> requests.Response:
        """GET the form at path, then POST it with its CSRF token, as a browser would."""
        page = self.get(path)
        payload = {"csrfmiddlewaretoken": self.csrf_token(page), **data}
        kwargs.setdefault("timeout", self.timeout)
        # Django checks the origin of an HTTPS POST: a browser on the TLS site would send this.
        scheme = self.session.headers.get("X-Forwarded-Proto", "http")
        referer = re.sub(r"^https?:", f"{scheme}:", page.url)
        return self.session.post(
            self.url(path), data=payload, files=files, headers={"Referer": referer}, **kwargs
        )

    def log_in(self, username: str, password: str, *, path: str = "/account/login/"):
        """Log in through a log-in form; return the answer to the POST."""
        return self.submit(path, {"username": username, "password": password})
