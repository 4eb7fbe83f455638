import io
import os
import shutil
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import translation
from PIL import Image

from tests.core.factories import TermsVersionFactory, staff_with_role
from tests.customers.factories import CustomerFactory, UnitFactory
from tests.mailserver import Dovecot, dovecot_missing

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "live: starts real processes (gunicorn, nginx, Celery, Redis, SMTP); needs PostgreSQL "
        "(DATABASE_URL) and Redis (TEST_REDIS_URL); fails in CI without them",
    )


def require_service(available: bool, what: str) -> None:
    """Skip on a laptop without the service; fail loudly in CI, where it must be there."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available here")


@pytest.fixture
def dovecot_installed():
    """Skip on a laptop without Dovecot; fail in CI, where `make install` must have put it."""
    missing = dovecot_missing()
    require_service(not missing, missing)


@pytest.fixture
def dovecot(dovecot_installed):
    """A Dovecot of this test's own (tests/mailserver.py), with an empty mailbox."""
    with Dovecot() as server:
        yield server


@pytest.fixture
def require_postgres():
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://…)")


@pytest.fixture
def live_database(transactional_db, require_postgres):
    """The URL of this test's database, for other processes: committed data only."""
    from tests.notifications.live import database_url

    return database_url(connection.settings_dict)


def machine_redis_url() -> str:
    """TEST_REDIS_URL with a database of this test process's own ("" when it is not set).

    The pytest-xdist workers run side by side: worker n takes the database n below the one
    given, so that one worker emptying its database never drops the other's queued tasks.
    """
    url = os.environ.get("TEST_REDIS_URL", "")
    if not url:
        return ""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    database = base - int(worker.removeprefix("gw"))
    if database < 0:
        pytest.fail(f"TEST_REDIS_URL's database {base} leaves none for xdist worker {worker}")
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def machine_redis():
    """The machine's Redis (TEST_REDIS_URL), a database of this process's emptied for this test."""
    import redis

    from tests.notifications.live import redis_ping

    url = machine_redis_url()
    require_service(bool(url) and redis_ping(url), "Redis (TEST_REDIS_URL=redis://…)")
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def redis_cache(settings, own_redis):
    """The production cache on a redis-server of this test's own, which the test may stop.

    Short socket timeouts: while the server is frozen, a call gives up in 0.2 s instead of hanging.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {
                "RETRY_AFTER": 0.3,
                "socket_timeout": 0.2,
                "socket_connect_timeout": 0.2,
            },
        }
    }
    return own_redis


@pytest.fixture
def own_redis():
    """A redis-server this test starts, and may stop and start again, on a free port."""
    from tests.notifications.live import RedisServer

    require_service(shutil.which("redis-server") is not None, "redis-server on the PATH")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def run_process():
    """Start managed processes (gunicorn, nginx, workers, beat); all stopped, newest first.

    A process is registered before it starts, so one that fails to become ready is stopped too.
    """
    started = []

    def run(process):
        started.append(process)
        return process.start()

    yield run
    for process in reversed(started):
        process.stop()


@pytest.fixture
def smtp_sink():
    """A real SMTP server on a free port that records, delays or refuses messages."""
    from tests.notifications.live import SmtpSink

    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session", autouse=True)
def _end_stray_sessions(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions tests left behind on it.

    Worker processes killed on purpose and the browser tests' live server can leave a session
    open, and PostgreSQL refuses to drop a database someone is connected to.
    """
    yield
    # Only the test database: a run whose tests never used it may have it gone already.
    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith(
        "test_"
    ):
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: the test client's requests leave theirs active."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: no calendar or counter cached by an earlier test."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Each test stores files in its own folder, so tests can look at what was stored."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(root)}},
    }
    yield root
    shutil.rmtree(root, ignore_errors=True)


# Object storage (tests/s3server.py) -----------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server, one per test process; skips on a laptop without it, fails in CI."""
    from tests.s3server import S3Server, S3ServerError, moto_missing

    missing = moto_missing()
    require_service(not missing, missing)
    server = S3Server()
    try:
        server.start()
    except S3ServerError as exc:
        require_service(False, f"moto's S3 server ({exc})")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server, settings, _private_media):
    """A fresh private bucket, made the default storage (settings.STORAGES) for this test."""
    name = s3_server.create_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage_config(name)}
    yield name
    s3_server.delete_bucket(name)


@pytest.fixture(params=["disk", "bucket"])
def any_storage(request, _private_media):
    """Run the test once on the local folder, once on a bucket of moto's server: its name, or ""."""
    if request.param == "bucket":
        return request.getfixturevalue("s3_bucket")
    return ""


def assert_private_download(response, *, filename_star: str, content_type: str) -> None:
    """A stored file sent as a download that no browser renders, sniffs or caches for others."""
    assert response.status_code == 200  # served by the portal, never redirected elsewhere
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{filename_star}" in disposition
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "sandbox" in csp
    assert "private" in response["Cache-Control"]


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what a write defers to commit: e-mails, enqueued tasks (Celery is eager here)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def terms(db):
    """Terms in force since long before any instant a test travels to."""
    return TermsVersionFactory(effective_from=datetime(2020, 1, 1, tzinfo=ZoneInfo("Europe/Rome")))


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def unit(customer):
    return UnitFactory(customer=customer)


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer.user)
    return client


def make_image(
    name="screen.png", size=(64, 48), image_format="PNG", color="red", exif=None
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(buffer, image_format, **kwargs)
    content_type = "image/png" if image_format == "PNG" else "image/jpeg"
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


# Portal fixtures (customer side) ---------------------------------------------------------------


def pin_service_status(monkeypatch, status):
    """Make the gate answer `status` everywhere for this test, the middleware included."""
    from schedule import gate, middleware

    # The middleware imported the function by name: patch both, the middleware already imported
    # (importing it after the gate is patched would make the patch its "original", for good).
    monkeypatch.setattr(gate, "service_status", lambda *, at=None: status)
    monkeypatch.setattr(middleware, "service_status", gate.service_status)
    return status


@pytest.fixture
def service_open(monkeypatch):
    """Keep the service calendar open, so portal tests do not depend on the hour they run at."""
    from schedule import gate

    status = gate.ServiceStatus(
        state=gate.ServiceState.OPEN, reason="", next_opening=None, at=gate.timezone.now()
    )
    return pin_service_status(monkeypatch, status)


@pytest.fixture
def staff_user(db):
    from tests.customers.factories import StaffFactory

    return StaffFactory()


# Admin fixtures (staff side) -------------------------------------------------------------------


@pytest.fixture
def operator(db):
    """A member of the Operators group."""
    from core.roles import OPERATORS

    return staff_with_role(OPERATORS, "luca")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def manager(db):
    """A member of the Managers group."""
    from core.roles import MANAGERS

    return staff_with_role(MANAGERS, "giulia")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def ticket(customer, unit, terms):
    """A new ticket of the `customer` fixture on its unit, stored directly."""
    from tests.tickets.factories import TicketFactory

    return TicketFactory(customer=customer, unit=unit, terms_version=terms)


def stored_files(root) -> list[str]:
    """The files under a storage folder, as sorted relative paths."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def ticket_post_data(unit, terms, **overrides) -> dict:
    """A complete, valid ticket form for a unit; override any field."""
    from tickets.models import Ticket

    data = {
        "target": f"unit:{unit.pk}",
        "kind": Ticket.Kind.PROBLEM,
        "language": "en",
        "subject": "Write fails at 87%",
        "vehicle_description": "Fiat Punto 1.3 Multijet 2012",
        "vehicle_identification": "ZFA19900000123456",
        "ecu_description": "Bosch EDC16C39",
        "ecu_identification": "0281013409",
        "software_version": "3.200",
        "description": "Writing stops at 87% every time.",
        "error_message": "ERR 0x42 checksum",
        "operations": "Read OK, then write; retried twice.",
        "accept_terms": "on",
        "terms_version": terms.pk,
    }
    data.update(overrides)
    return data


def ticket_submit(*, customer, unit, terms, **overrides):
    """Open a ticket through the service, as the portal does."""
    from tickets.services import ticket_create

    kwargs = {
        "customer": customer,
        "product": unit.product,
        "unit": unit,
        "kind": "problem",
        "language": "en",
        "subject": "Problem",
        "description": "It fails.",
        "terms_version": terms,
        "vehicle_description": "Fiat Punto",
        "error_message": "ERR 1",
        "confirmed_new_problem": True,
    }
    kwargs.update(overrides)
    return ticket_create(**kwargs)


@pytest.fixture
def private_media(_private_media):
    """The test's own private storage folder, to look at what was stored."""
    return _private_media


# Browser tests -----------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole run (Debian's; Playwright cannot download its own)."""
    require_service(os.path.exists(CHROMIUM), "Chromium at /usr/bin/chromium")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls of the tests are
    # still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
