"""Writes of the notifications app: the outbox rows, their hand-over to Celery, their sending."""

import logging
import smtplib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import get_connection
from django.db import DatabaseError, transaction
from django.utils import timezone

from notifications.emails import message_build
from notifications.models import Notification
from tickets.models import TicketEvent

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


# Recording (called by tickets.events inside the update's transaction) ---------------------------


@dataclass
class _Open:
    """An outbox row written by the atomic block still running, which later events may join."""

    notification: Notification
    callback: partial


_open = threading.local()


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


def _open_rows(connection) -> dict:
    """Return the rows of atomic blocks still running, forgetting committed or rolled-back ones."""
    rows = getattr(_open, "rows", None)
    if rows is None:
        rows = _open.rows = {}
    if rows:
        pending = {id(func) for _sids, func, _robust in connection.run_on_commit}
        for key in [k for k, row in rows.items() if id(row.callback) not in pending]:
            del rows[key]
    return rows


def notifications_record(*, event: TicketEvent) -> list[Notification]:
    """Write the outbox rows an event calls for; enqueue them once the update commits."""
    recipients = _recipients(event=event)
    if not recipients:
        return []
    connection = transaction.get_connection()
    rows = _open_rows(connection)
    # Events recorded by the same atomic block are one update, hence one e-mail per recipient:
    # an operator's reply that also changes the status is told in a single message.
    scope = (connection.alias, tuple(connection.savepoint_ids), event.ticket_id)
    written = []
    for recipient_kind, address in recipients:
        key = (*scope, address.lower())
        row = rows.get(key)
        if row is not None:
            row.notification.events.add(event)
            continue
        notification = Notification.objects.create(
            ticket=event.ticket,
            event=event,
            recipient=address,
            recipient_kind=recipient_kind,
            language=event.ticket.language,
        )
        notification.events.add(event)
        callback = partial(notifications_enqueue, ids=[notification.pk])
        transaction.on_commit(callback)
        if connection.in_atomic_block:
            rows[key] = _Open(notification=notification, callback=callback)
        written.append(notification)
    return written


# Hand-over to the broker --------------------------------------------------------------------------


def notifications_enqueue(*, ids: Iterable[int]) -> int:
    """Hand notifications to Celery; if the broker is down, leave them to the sweeper."""
    from notifications.tasks import notification_send_task

    enqueued = 0
    for pk in ids:
        try:
            notification_send_task.apply_async(
                kwargs={"notification_id": pk},
                retry=True,
                retry_policy=settings.NOTIFICATIONS_PUBLISH_RETRY_POLICY,
            )
        except Exception:
            # The row is committed and stays pending: the periodic sweeper enqueues it again.
            # Stop at the first failure so that a broker that is down costs one timeout only.
            logger.warning(
                "Could not enqueue notification %s; the sweeper will retry it.", pk, exc_info=True
            )
            break
        enqueued += 1
    return enqueued


def notifications_sweep(
    *, at: datetime | None = None, grace: timedelta | None = None, limit: int | None = None
) -> int:
    """Enqueue again the overdue pending notifications: the broker lost them or never had them."""
    now = at or timezone.now()
    if grace is None:
        grace = timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE)
    limit = limit or settings.NOTIFICATIONS_SWEEP_BATCH
    with transaction.atomic():
        # Rows locked by a worker that is sending them right now are left alone.
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Notification.Status.PENDING, next_attempt_at__lte=now - grace)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(next_attempt_at=now)
    if ids:
        logger.info("Sweeper: enqueueing %d pending notifications again.", len(ids))
    return notifications_enqueue(ids=ids)


def notifications_resend(*, notifications: Iterable[Notification]) -> int:
    """Put notifications back in the outbox, whatever their state, and enqueue them on commit."""
    ids = [n.pk for n in notifications]
    with transaction.atomic():
        count = Notification.objects.filter(pk__in=ids).update(
            status=Notification.Status.PENDING,
            sent_at=None,
            last_error="",
            next_attempt_at=timezone.now(),
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


def notification_send(*, notification_id: int) -> Notification | None:
    """Send one pending notification and mark it sent; do nothing if it is not pending.

    Raise TemporarySendError when the mail server should be tried again later.
    """
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
                update_fields=["status", "attempts", "last_error", "next_attempt_at", "sent_at"]
            )
        # Committed: only now say goodbye to the server, to keep the window in which a crash
        # could make a delivered message look unsent as short as possible.
    finally:
        connection.close()
    if retry is not None:
        raise retry
    return notification
