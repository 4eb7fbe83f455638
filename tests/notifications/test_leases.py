"""Who is trusted with a pending e-mail, and when the sweeper takes it back (the row's lease).

The broker is trusted NOTIFICATIONS_SWEEP_GRACE after a hand-over, the worker that claimed a row
NOTIFICATIONS_CLAIM_GRACE and for as long as it holds the row's lock while sending; a row whose
hand-over failed is nobody's at once. Celery is eager here, so a sweep sends what it takes back.
"""

import smtplib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from notifications import delivery, tasks
from notifications.delivery import TemporarySendError, notification_send
from notifications.models import Notification
from notifications.tasks import notification_send_task, notifications_enqueue, notifications_sweep
from tests.notifications.factories import NotificationFactory
from tests.notifications.live import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _graces(settings):
    settings.NOTIFICATIONS_SWEEP_GRACE = 60
    settings.NOTIFICATIONS_CLAIM_GRACE = 10


def test_a_row_handed_over_is_the_brokers_for_the_grace_period():
    notification = NotificationFactory()
    now = timezone.now()

    assert notifications_sweep(at=now + timedelta(seconds=30)) == 0
    assert mail.outbox == []
    assert notifications_sweep(at=now + timedelta(seconds=61)) == 1

    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notifications_sweep(at=now + timedelta(days=1)) == 0


def test_a_row_re_enqueued_by_the_sweeper_gets_a_new_lease():
    notification = NotificationFactory()
    later = timezone.now() + timedelta(seconds=61)
    with pytest.MonkeyPatch.context() as patch:
        # The broker takes the message but no worker runs it (it is lost, say).
        patch.setattr(notification_send_task, "apply_async", lambda **kwargs: None)
        assert notifications_sweep(at=later) == 1

    notification.refresh_from_db()
    assert notification.leased_until == later + timedelta(seconds=60)
    assert notifications_sweep(at=later + timedelta(seconds=59)) == 0
    assert notifications_sweep(at=later + timedelta(seconds=60)) == 1
    assert len(mail.outbox) == 1


def test_a_row_claimed_by_a_worker_that_died_is_taken_back_after_the_claim_grace():
    notification = NotificationFactory()
    # What a worker commits before sending; then it dies, and its row lock goes with it.
    assert delivery._claim(notification_id=notification.pk) is True
    notification.refresh_from_db()
    now = timezone.now()
    assert now < notification.leased_until <= now + timedelta(seconds=10)

    assert notifications_sweep(at=now + timedelta(seconds=5)) == 0
    assert notifications_sweep(at=now + timedelta(seconds=11)) == 1

    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 1)


@pytest.mark.django_db(transaction=True)
def test_a_row_being_sent_is_never_taken_back_nor_sent_by_another_worker(require_postgres):
    notification = NotificationFactory()
    locked, release = threading.Event(), threading.Event()

    def sending_worker():
        # A worker in the middle of the SMTP conversation: the row is locked until it commits.
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=notification.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=sending_worker)
    worker.start()
    try:
        assert locked.wait(10)
        far = timezone.now() + timedelta(days=1)
        assert notifications_sweep(at=far) == 0
        notification_send(notification_id=notification.pk)
        assert mail.outbox == []
    finally:
        release.set()
        worker.join(10)

    # The "worker" let go without sending (it died): now the sweep takes the row back.
    assert notifications_sweep(at=timezone.now() + timedelta(days=1)) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 1)
    assert len(mail.outbox) == 1


def test_a_temporary_failure_leases_the_row_until_its_retry_and_the_grace(settings, monkeypatch):
    settings.NOTIFICATIONS_RETRY_BACKOFF = 30
    notification = NotificationFactory()

    class Busy:
        def open(self):
            return True

        def close(self):
            pass

        def send_messages(self, messages):
            raise smtplib.SMTPDataError(451, b"4.3.0 Try again later")

    monkeypatch.setattr(delivery, "get_connection", lambda **kwargs: Busy())
    with pytest.raises(TemporarySendError):
        notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    # Celery holds the retry for 30 s; the sweeper steps in only if that message is lost.
    assert notification.leased_until == notification.next_attempt_at + timedelta(seconds=60)
    assert notifications_sweep(at=notification.next_attempt_at) == 0


@pytest.fixture
def real_broker(monkeypatch):
    """Celery not eager, publishing through a stand-in that is up or down as the test says."""
    monkeypatch.setitem(notification_send_task.app.conf, "task_always_eager", False)
    calls: list[int] = []
    state = {"up": False}

    def apply_async(*, kwargs, **options):
        calls.append(kwargs["notification_id"])
        if not state["up"]:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(notification_send_task, "apply_async", apply_async)
    return {"calls": calls, "state": state}


def test_a_refused_hand_over_leaves_the_broker_alone_for_a_while(settings, real_broker):
    settings.NOTIFICATIONS_PUBLISH_PAUSE = 60
    first, second, third = NotificationFactory.create_batch(3)

    assert notifications_enqueue(ids=[first.pk]) == 0
    assert notifications_enqueue(ids=[second.pk, third.pk]) == 0

    # One attempt for the three: the others did not wait on a broker known to be down.
    assert real_broker["calls"] == [first.pk]
    now = timezone.now()
    for row in (first, second, third):
        row.refresh_from_db()
        assert row.status == Notification.Status.PENDING
        assert row.leased_until <= now  # nobody's: the first sweep hands it over


def test_the_pause_ends_and_hand_overs_resume(settings, real_broker, monkeypatch):
    settings.NOTIFICATIONS_PUBLISH_PAUSE = 60
    first, second = NotificationFactory.create_batch(2)
    clock = {"now": 1000.0}
    monkeypatch.setattr(tasks.time, "monotonic", lambda: clock["now"])

    assert notifications_enqueue(ids=[first.pk]) == 0
    real_broker["state"]["up"] = True
    clock["now"] += 59
    assert notifications_enqueue(ids=[second.pk]) == 0
    clock["now"] += 2
    assert notifications_enqueue(ids=[second.pk]) == 1

    assert real_broker["calls"] == [first.pk, second.pk]


def test_a_redis_the_cache_found_down_is_not_asked_to_take_the_message(settings, real_broker):
    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.CACHES = {"default": {"BACKEND": "core.cache.ResilientRedisCache", "LOCATION": nobody}}
    settings.CELERY_BROKER_URL = nobody
    row = NotificationFactory()
    assert caches["default"].get("calendar") is None  # the request's first look finds it down

    assert notifications_enqueue(ids=[row.pk]) == 0

    assert real_broker["calls"] == []
    row.refresh_from_db()
    assert row.leased_until <= timezone.now()
    # A broker elsewhere than the cache's Redis is asked as usual.
    settings.CELERY_BROKER_URL = "redis://broker.example:6379/0"
    real_broker["state"]["up"] = True
    assert notifications_enqueue(ids=[row.pk]) == 1
