"""Writes of the notifications app: the outbox rows, their hand-over to Celery, their sending."""

import logging
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import get_connection
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.cache import cache_is_degraded
from notifications.emails import message_build
from notifications.models import Notification
from tickets.models import TicketEvent
from tickets.updates import Update

logger = logging.getLogger(__name__)

Kind = TicketEvent.Kind

# What the customer hears of: every public update made by someone else, and the receipt of its
# own submission. Internal notes are not public and never reach this far.
CUSTOMER_KINDS = frozenset(
    {
        Kind.SUBMITTED,
        Kind.MESSAGE,
        Kind.ATTACHMENT,
        Kind.STATUS,
        Kind.ASSIGNED,
        Kind.DUPLICATE,
        Kind.CLOSED,
        Kind.REOPENED,
        Kind.REMOTE_REQUEST,
    }
)
# What the assigned operator hears of: the customer's replies (and what they change).
OPERATOR_KINDS = frozenset({Kind.MESSAGE, Kind.ATTACHMENT, Kind.STATUS, Kind.REOPENED, Kind.CLOSED})


class TemporarySendError(Exception):
    """The mail server refused for now (4xx, connection trouble): try again later."""

    def __init__(self, message: str, *, countdown: float):
        super().__init__(message)
        self.countdown = countdown


# Recording (handed each ticket update inside the transaction that records it) -------------------


def _recipients(*, event: TicketEvent) -> list[tuple[str, str]]:
    if not event.is_public or event.kind == Kind.NOTE:
        return []
    ticket = event.ticket
    customer_user = ticket.customer.user
    by_customer = event.author_id is not None and event.author_id == customer_user.pk
    found: list[tuple[str, str]] = []
    if event.kind in CUSTOMER_KINDS and (event.kind == Kind.SUBMITTED or not by_customer):
        found.append((Notification.RecipientKind.CUSTOMER, customer_user.email))
    if by_customer and event.kind in OPERATOR_KINDS and ticket.assigned_to_id is not None:
        found.append((Notification.RecipientKind.OPERATOR, ticket.assigned_to.email))
    seen: set[str] = set()
    recipients = []
    for kind, address in found:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            recipients.append((kind, address))
    return recipients


def notifications_record_update(*, update: Update) -> list[Notification]:
    """Write the outbox rows an update calls for; enqueue them once the update commits."""
    # The events of one update are told together, one e-mail per recipient: an operator's reply
    # that also changes the status is a single message. The first event a recipient hears of
    # names the row; the others join it.
    rows: dict[str, Notification] = {}
    for event in update.events:
        for recipient_kind, address in _recipients(event=event):
            notification = rows.get(address.lower())
            if notification is None:
                notification = rows[address.lower()] = Notification.objects.create(
                    ticket=update.ticket,
                    event=event,
                    recipient=address,
                    recipient_kind=recipient_kind,
                    language=update.ticket.language,
                )
                transaction.on_commit(partial(notifications_enqueue, ids=[notification.pk]))
            notification.events.add(event)
    return list(rows.values())


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
    # The broker is usually the cache's Redis, which this request has asked already (the
    # calendar): a Redis that hangs then costs no publish timeout at all.
    location = settings.CACHES.get("default", {}).get("LOCATION")
    return bool(location) and location == settings.CELERY_BROKER_URL and cache_is_degraded()


def notifications_enqueue(*, ids: Iterable[int]) -> int:
    """Hand notifications to Celery; if the broker is down, leave them to the sweeper."""
    from notifications.tasks import notification_send_task

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
    """Enqueue again the pending notifications nobody is trusted with any longer.

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
    if ids:
        logger.info("Sweeper: enqueueing %d pending notifications again.", len(ids))
    return notifications_enqueue(ids=ids)


def notifications_resend(*, notifications: Iterable[Notification]) -> int:
    """Put notifications back in the outbox, whatever their state, and enqueue them on commit."""
    ids = [n.pk for n in notifications]
    with transaction.atomic():
        now = timezone.now()
        count = Notification.objects.filter(pk__in=ids).update(
            status=Notification.Status.PENDING,
            sent_at=None,
            last_error="",
            next_attempt_at=now,
            leased_until=now + timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE),
        )
        transaction.on_commit(partial(notifications_enqueue, ids=ids))
    return count


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
