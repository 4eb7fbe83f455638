"""Writes of the notifications app: the outbox rows a ticket update calls for, and resending."""

from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.roles import MANAGERS
from notifications.models import Notification
from notifications.tasks import notifications_enqueue
from tickets.models import TicketEvent
from tickets.updates import Update

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


# Recording (each ticket service hands its update here, inside its transaction) --------------------


def _warned(*, event: TicketEvent) -> list[tuple[str, str]]:
    """Who hears that a target is about to be missed: its operator, else every manager."""
    ticket = event.ticket
    if ticket.assigned_to_id is not None:
        addresses = [ticket.assigned_to.email]
    else:
        addresses = list(
            get_user_model()
            .objects.filter(is_active=True, is_staff=True, groups__name=MANAGERS)
            .exclude(email="")
            .order_by("pk")
            .values_list("email", flat=True)
        )
    return [(Notification.RecipientKind.OPERATOR, address) for address in addresses if address]


def _workshop_people(*, ticket) -> list:
    """The customer code's own user, and the member who opened the ticket if another one."""
    people = [ticket.customer.user]
    opener = ticket.opened_by if ticket.opened_by_id else None
    if opener is not None and opener.pk != people[0].pk and opener.is_active:
        people.append(opener)
    return people


def _recipients(*, event: TicketEvent) -> list[tuple[str, str]]:
    if event.kind == Kind.TARGET_WARNING:
        return _warned(event=event)
    if not event.is_public or event.kind == Kind.NOTE:
        return []
    ticket = event.ticket
    by_customer = event.author_id is not None and not event.by_staff
    found: list[tuple[str, str]] = []
    if event.kind in CUSTOMER_KINDS:
        # §2: the customer code's address hears of every update, and so does the member of the
        # workshop who opened the ticket; nobody hears of their own message but the receipt.
        for person in _workshop_people(ticket=ticket):
            if event.kind == Kind.SUBMITTED or person.pk != event.author_id:
                found.append((Notification.RecipientKind.CUSTOMER, person.email))
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


# Resending ----------------------------------------------------------------------------------------


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
