import os
import shutil

import pytest
from django.db import connection

from tests.conftest import require_service
from tests.notifications.live import (
    RedisServer,
    SmtpSink,
    Worker,
    celery_publishing_to,
    database_url,
    redis_ping,
    worker_env,
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "live: starts a real Celery worker, Redis and SMTP server; needs PostgreSQL "
        "(DATABASE_URL) and Redis (TEST_REDIS_URL); fails in CI without them",
    )


@pytest.fixture
def live_database(transactional_db, require_postgres):
    """The URL of this test's database, committed data only (transaction=True tests)."""
    return database_url(connection.settings_dict)


@pytest.fixture
def machine_redis():
    """The machine's Redis (TEST_REDIS_URL), its database emptied for this test."""
    url = os.environ.get("TEST_REDIS_URL", "")
    require_service(bool(url) and redis_ping(url), "Redis (TEST_REDIS_URL=redis://…)")
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def own_redis():
    """A redis-server this test starts, stops and starts again on a free port."""
    require_service(shutil.which("redis-server") is not None, "redis-server on the PATH")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def start_worker(live_database, smtp_sink, tmp_path):
    """Start real workers against a broker; every one is stopped before the database is flushed."""
    workers: list[Worker] = []

    def start(broker_url: str, *, name: str = "w", concurrency: int = 2, **env) -> Worker:
        worker = Worker(
            env=worker_env(
                database_url=live_database,
                broker_url=broker_url,
                smtp_url=smtp_sink.url,
                **env,
            ),
            log_path=tmp_path / f"worker-{name}-{len(workers)}.log",
            name=f"notif-{name}-{len(workers)}-{os.getpid()}",
            concurrency=concurrency,
        )
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def publish_to():
    """Make the test process publish to a real broker for the rest of the test."""
    stack = []

    def use(broker_url: str):
        context = celery_publishing_to(broker_url)
        context.__enter__()
        stack.append(context)

    yield use
    while stack:
        stack.pop().__exit__(None, None, None)
