"""Fixtures for the tests that run the production path as real processes.

Each test gets its own database (transaction=True: what gunicorn reads must be committed), a
Redis database emptied for it (`live_database`, `machine_redis`, `smtp_sink` come from
tests/conftest.py), a private media folder, and factories that start gunicorn on the production
settings and nginx in front of it; everything started is stopped before the database is flushed.
"""

import shutil

import pytest

from tests.conftest import require_service
from tests.production.proxy import Nginx, nginx_binary
from tests.production.stack import Gunicorn, production_env


@pytest.fixture
def media_root(tmp_path):
    """The private media folder of the processes this test starts."""
    root = tmp_path / "media"
    root.mkdir()
    return root


@pytest.fixture
def start_gunicorn(live_database, machine_redis, media_root, tmp_path):
    """Start gunicorn on config.settings.production; extra keywords become its environment.

    `email_url` defaults to the console backend (pass an SMTP sink's URL to receive mail),
    `workers` and `args` go to gunicorn.
    """
    started: list[Gunicorn] = []

    def start(
        *, workers: int = 2, args: tuple = (), email_url: str = "consolemail://", **env: str
    ) -> Gunicorn:
        server = Gunicorn(
            env=production_env(
                database_url=live_database,
                redis_url=machine_redis,
                email_url=email_url,
                media_root=media_root,
                **env,
            ),
            log_path=tmp_path / f"gunicorn-{len(started)}.log",
            workers=workers,
            args=args,
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_nginx(tmp_path):
    """Start the shipped nginx (deploy/nginx/) in front of an upstream host:port.

    Extra keywords are render.sh's environment (ATTACHMENT_MAX_SIZE_MB, NGINX_CLIENT_TIMEOUT…).
    """
    require_service(nginx_binary() is not None, "nginx (Debian's nginx-light)")
    require_service(shutil.which("envsubst") is not None, "envsubst (Debian's gettext-base)")
    started: list[Nginx] = []

    def start(upstream: str, **env: str) -> Nginx:
        server = Nginx(upstream=upstream, root=tmp_path / f"nginx-{len(started)}", **env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
