"""Fixtures for the tests that run the production path as real processes.

Each test gets its own database (transaction=True: what gunicorn reads must be committed), a
Redis database emptied for it (`live_database`, `machine_redis`, `smtp_sink` come from
tests/conftest.py), a private media folder, and factories that start gunicorn on the production
settings and nginx in front of it; everything started is stopped before the database is flushed.
"""

import itertools
import shutil

import pytest

from tests.conftest import require_service
from tests.production.proxy import Nginx, nginx_binary
from tests.production.stack import Gunicorn, production_env


@pytest.fixture(autouse=True)
def _production_password_hashing(settings):
    """Hash the factories' passwords as production checks them (the test settings use MD5)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture
def media_root(tmp_path):
    """The private media folder of the processes this test starts."""
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def start_gunicorn(live_database, machine_redis, media_root, tmp_path, run_process):
    """Start gunicorn on config.settings.production; extra keywords become its environment.

    `email_url` defaults to the console backend (pass an SMTP sink's URL to receive mail),
    `workers` and `args` go to gunicorn.
    """
    numbers = itertools.count()

    def start(
        *, workers: int = 2, args: tuple = (), email_url: str = "consolemail://", **env: str
    ) -> Gunicorn:
        env = production_env(
            database_url=live_database,
            redis_url=machine_redis,
            email_url=email_url,
            media_root=media_root,
            **env,
        )
        log_path = tmp_path / f"gunicorn-{next(numbers)}.log"
        return run_process(Gunicorn(env=env, log_path=log_path, workers=workers, args=args))

    return start


@pytest.fixture
def start_nginx(tmp_path, run_process):
    """Start the shipped nginx (deploy/nginx/) in front of an upstream host:port.

    Extra keywords are render.sh's environment (ATTACHMENT_MAX_SIZE_MB, NGINX_CLIENT_TIMEOUT…).
    """
    require_service(nginx_binary() is not None, "nginx (Debian's nginx-light)")
    require_service(shutil.which("envsubst") is not None, "envsubst (Debian's gettext-base)")
    numbers = itertools.count()

    def start(upstream: str, **env: str) -> Nginx:
        root = tmp_path / f"nginx-{next(numbers)}"
        return run_process(Nginx(upstream=upstream, root=root, **env))

    return start
