"""What every ticket write goes through: who may write, the event row, the update handed over.

Each ticket service records its events with event_record() inside its transaction and ends that
block with update_record(), which names the e-mail outbox: the notifications app writes its rows
in the same transaction and enqueues them once it commits.
"""

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from notifications.services import notifications_record_update
from schedule.gate import require_service_open
from tickets.models import Ticket, TicketEvent
from tickets.targets import ticket_clock_record
from tickets.updates import Update


def event_record(
    *,
    ticket: Ticket,
    kind: str,
    author=None,
    body: str = "",
    is_public: bool = True,
    old_status: str = "",
    new_status: str = "",
    at: datetime | None = None,
) -> TicketEvent:
    """Write one event of a ticket's history, at the instant given (default: now)."""
    event = TicketEvent.objects.create(
        created_at=at or timezone.now(),
        ticket=ticket,
        kind=kind,
        author=author,
        body=body,
        is_public=is_public,
        old_status=old_status,
        new_status=new_status,
    )
    return event


def update_record(*, ticket: Ticket, recorded: Sequence[TicketEvent]) -> Update:
    """Move the ticket's service-target clock, and hand the events one service recorded to the
    e-mail outbox, inside its transaction."""
    ticket_clock_record(ticket=ticket, events=recorded)
    update = Update(ticket=ticket, events=tuple(recorded))
    notifications_record_update(update=update)
    return update


def status_set(
    *,
    ticket: Ticket,
    status: str,
    author,
    kind=TicketEvent.Kind.STATUS,
    at: datetime | None = None,
) -> TicketEvent | None:
    """Move the ticket (not yet saved) to a status, with its event; None if it is there already."""
    if ticket.status == status:
        return None
    old = ticket.status
    ticket.status = status
    return event_record(
        ticket=ticket, kind=kind, author=author, old_status=old, new_status=status, at=at
    )


def customer_write_check(*, customer: Customer, at: datetime | None) -> None:
    """Refuse a customer's write while the calendar is closed or the account is suspended."""
    require_service_open(at=at)
    if customer.is_suspended:
        raise PermissionDenied(
            _("Your account is suspended. Reason given by our staff: “%(reason)s”")
            % {"reason": customer.suspension_reason}
        )
