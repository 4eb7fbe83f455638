"""Delivery of the outbox: one message to the mail server, and the rows nobody holds any longer.

Below the tasks (which call these) and above nothing of Celery's: this module never enqueues.
"""

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from notifications.emails import message_build
from notifications.models import Notification

logger = logging.getLogger(__name__)


class TemporarySendError(Exception):
    """The mail server refused for now (4xx, connection trouble): try again later."""

    def __init__(self, message: str, *, countdown: float):
        super().__init__(message)
        self.countdown = countdown


# Taking back what nobody holds -------------------------------------------------------------------


def notifications_overdue_claim(
    *, at: datetime | None = None, grace: timedelta | None = None, limit: int | None = None
) -> list[int]:
    """Take back the pending notifications nobody is trusted with any longer; return their ids.

    That is, rows whose lease has run out (the broker lost them, or never had them; the worker
    that claimed them died) and that no worker holds locked while sending. `grace`, when given,
    also takes back the rows due for longer than it whatever their lease (a cron sweep of the
    embedded default, which has no broker to trust).
    """
    now = at or timezone.now()
    limit = limit or settings.NOTIFICATIONS_SWEEP_BATCH
    overdue = Q(leased_until__lte=now)
    if grace is not None:
        overdue |= Q(next_attempt_at__lte=now - grace)
    with transaction.atomic():
        # Rows locked by a worker that is sending them right now are left alone.
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(overdue, status=Notification.Status.PENDING)
            .order_by("leased_until")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(
                next_attempt_at=now,
                leased_until=now + timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE),
            )
    return ids


# Sending ----------------------------------------------------------------------------------------


def _is_temporary(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    # Connection refused, reset or timed out; the server went away in the middle.
    return isinstance(exc, OSError | smtplib.SMTPServerDisconnected)


def _backoff(*, attempts: int) -> float:
    """Seconds to wait after the n-th failed attempt: exponential, capped under the broker's
    visibility timeout so that Redis never hands a waiting retry to a second worker."""
    delay = settings.NOTIFICATIONS_RETRY_BACKOFF * 2 ** max(attempts - 1, 0)
    return min(delay, settings.NOTIFICATIONS_RETRY_BACKOFF_MAX)


def _claim(*, notification_id: int) -> bool:
    """Take a pending row from the broker's lease into this worker's: a short one, which the row
    lock held while sending prolongs. Tell whether the row is pending and free to send."""
    with transaction.atomic():
        found = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .values_list("pk", flat=True)
            .first()
        )
        if found is None:
            return False
        # Committed before sending: if this worker dies, the sweeper sees the short lease
        # on an unlocked row and hands the message over again within seconds.
        Notification.objects.filter(pk=found).update(
            leased_until=timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_CLAIM_GRACE)
        )
    return True


def notification_send(*, notification_id: int) -> Notification | None:
    """Send one pending notification and mark it sent; do nothing if it is not pending.

    Raise TemporarySendError when the mail server should be tried again later.
    """
    if not _claim(notification_id=notification_id):
        # Sent, failed, deleted, or being sent by another worker right now.
        return Notification.objects.filter(pk=notification_id).first()
    connection = get_connection(fail_silently=False)
    retry: TemporarySendError | None = None
    try:
        with transaction.atomic():
            # The lock makes a second delivery of the same task (a redelivered message, a sweep)
            # wait or skip while this one sends; once committed, "sent" is final.
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("ticket", "ticket__customer", "event")
                .filter(pk=notification_id)
                .first()
            )
            if notification is None:
                return None  # deleted with its ticket, or being sent by another worker
            if notification.status != Notification.Status.PENDING:
                return notification
            notification.attempts += 1
            now = timezone.now()
            try:
                # Inside the try: a message that cannot be rendered is a permanent failure that
                # staff see in the log, not a task that fails and is swept again forever.
                message = message_build(notification=notification)
                connection.open()
                connection.send_messages([message])
            except DatabaseError:
                raise  # rolled back: the row stays pending and the sweeper tries again
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                notification.last_error = error
                if (
                    _is_temporary(exc)
                    and notification.attempts < settings.NOTIFICATIONS_MAX_ATTEMPTS
                ):
                    countdown = _backoff(attempts=notification.attempts)
                    notification.next_attempt_at = now + timedelta(seconds=countdown)
                    # Celery holds the retry until then; the sweeper only if it is lost.
                    notification.leased_until = notification.next_attempt_at + timedelta(
                        seconds=settings.NOTIFICATIONS_SWEEP_GRACE
                    )
                    retry = TemporarySendError(error, countdown=countdown)
                    logger.warning(
                        "Notification %s: temporary failure, retry in %ss: %s",
                        notification.pk,
                        countdown,
                        error,
                    )
                else:
                    notification.status = Notification.Status.FAILED
                    logger.error(
                        "Notification %s failed: %s",
                        notification.pk,
                        error,
                        # A refusal by the server needs no traceback; anything else is a bug.
                        exc_info=not isinstance(exc, smtplib.SMTPException | OSError),
                    )
            else:
                notification.status = Notification.Status.SENT
                notification.sent_at = now
                notification.last_error = ""
            notification.save(
                update_fields=[
                    "status",
                    "attempts",
                    "last_error",
                    "next_attempt_at",
                    "leased_until",
                    "sent_at",
                ]
            )
        # Committed: only now say goodbye to the server, to keep the window in which a crash
        # could make a delivered message look unsent as short as possible.
    finally:
        connection.close()
    if retry is not None:
        raise retry
    return notification
