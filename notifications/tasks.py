"""The outbox's Celery tasks, and the hand-over of rows to the broker (services use it too).

The hand-over lives here, beside the task it enqueues, so that services import tasks and tasks
import delivery, and nothing imports back.
"""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.cache import cache_is_degraded, cache_ping
from notifications.delivery import (
    TemporarySendError,
    notification_send,
    notifications_overdue_claim,
)
from notifications.models import Notification

logger = logging.getLogger(__name__)


# Hand-over to the broker --------------------------------------------------------------------------


@dataclass
class _Broker:
    """What this process knows of the broker: after a refused hand-over it stops trying a while,
    so that an outage costs one request the publish timeout, not every request."""

    paused_until: float = 0.0


_broker = _Broker()
# The broker cannot be reached (kombu wraps connection errors in OperationalError).
BROKER_UNREACHABLE = (OperationalError, ConnectionError, OSError)


def _orphan(*, ids: list[int]) -> None:
    """End the lease of rows nobody was given, so that the next sweep hands them over."""
    if not ids:
        return
    try:
        Notification.objects.filter(pk__in=ids, status=Notification.Status.PENDING).update(
            leased_until=timezone.now()
        )
    except DatabaseError:
        # Their lease runs out on its own (NOTIFICATIONS_SWEEP_GRACE): later, not never.
        logger.warning("Could not mark notifications %s for the sweeper.", ids, exc_info=True)


def _broker_known_down() -> bool:
    """Tell whether this process knows the broker cannot be reached right now."""
    if time.monotonic() < _broker.paused_until:
        return True
    location = settings.CACHES.get("default", {}).get("LOCATION")
    if not location or location != settings.CELERY_BROKER_URL:
        return False
    # The broker is the cache's Redis. The cache gives up on it within its short socket timeout
    # (the broker's is several times longer, and retried): one ping before the hand-over keeps a
    # Redis that hangs from holding the customer's request for the publish timeouts. Requests no
    # longer ask the cache on every call (the calendar is revalidated once a second).
    return cache_is_degraded() or cache_ping() is False


def notifications_enqueue(*, ids: Iterable[int]) -> int:
    """Hand notifications to Celery; if the broker is down, leave them to the sweeper."""
    ids = list(ids)
    eager = notification_send_task.app.conf.task_always_eager
    if not eager and _broker_known_down():
        _orphan(ids=ids)
        return 0
    enqueued = 0
    for index, pk in enumerate(ids):
        try:
            notification_send_task.apply_async(
                kwargs={"notification_id": pk},
                retry=True,
                retry_policy=settings.NOTIFICATIONS_PUBLISH_RETRY_POLICY,
            )
        except Exception as exc:
            # The row is committed and stays pending: the periodic sweeper enqueues it again.
            # Stop at the first failure so that a broker that is down costs one timeout only.
            logger.warning(
                "Could not enqueue notification %s; the sweeper will retry it.", pk, exc_info=True
            )
            if not eager and isinstance(exc, BROKER_UNREACHABLE):
                _broker.paused_until = time.monotonic() + settings.NOTIFICATIONS_PUBLISH_PAUSE
            _orphan(ids=ids[index:])
            break
        enqueued += 1
    return enqueued


def notifications_sweep(
    *, at: datetime | None = None, grace: timedelta | None = None, limit: int | None = None
) -> int:
    """Enqueue again the pending notifications nobody is trusted with any longer."""
    ids = notifications_overdue_claim(at=at, grace=grace, limit=limit)
    if ids:
        logger.info("Sweeper: enqueueing %d pending notifications again.", len(ids))
    return notifications_enqueue(ids=ids)


# Tasks ------------------------------------------------------------------------------------------


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def notification_send_task(self, *, notification_id: int) -> None:
    """Send one notification; retry later if the mail server refuses for now."""
    try:
        notification_send(notification_id=notification_id)
    except TemporarySendError as exc:
        if self.request.is_eager:
            # Run inline (embedded default): no broker to wait on; the row stays pending.
            return
        # The row counts the attempts and stops at NOTIFICATIONS_MAX_ATTEMPTS, not Celery.
        raise self.retry(exc=exc, countdown=exc.countdown) from exc


@shared_task(acks_late=True)
def notifications_sweep_task() -> int:
    """Enqueue again the pending notifications that no worker has sent in time."""
    return notifications_sweep()
