"""The stale-write guard: what a ticket page showed, and the refusal when the ticket moved on.

Each form of a ticket page carries a marker of what the page showed (`seen_token`): how many
events its timeline held, the status and, for staff, the operator. Every visible change of a
ticket adds an event (a reply, a note, a take, a status change, a close, a reply by e-mail, a
remote-access request) or moves the status or the operator; events are never deleted, and their
ids grow in the order they were written, because every service writes them while holding the
ticket's row lock: the events a page did not show are the newest ids beyond its count. A service
given a marker compares it, under that same lock, with the ticket as it is: two posts of the same
page cannot both pass. A customer's marker counts public events only (an internal note is not a
change the customer can see), and a count tells them nothing of other tickets, as an id would.
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket, TicketEvent

CHANGED_CODE = "changed"


class TicketChangedError(ValidationError):
    """The ticket changed since the page was loaded: nothing was saved."""

    def __init__(self):
        super().__init__(
            _(
                "This ticket has changed since you opened this page, so nothing was saved. "
                "Read what changed, listed here, then send the form again to confirm: what you "
                "wrote is kept."
            ),
            code=CHANGED_CODE,
        )


def seen_token(*, ticket: Ticket, events_count: int, staff: bool) -> str:
    """Say what a page shows of a ticket in one short string, compared as a whole."""
    parts = [str(events_count), ticket.status]
    if staff:
        parts.append(str(ticket.assigned_to_id or 0))
    return ".".join(parts)


# Events that change nothing anyone was answering: a service-target warning is written by the
# beat while an operator may be typing, and must not send their reply back for confirmation.
UNCOUNTED_KINDS = (TicketEvent.Kind.TARGET_WARNING,)


def _counted(events: Sequence[TicketEvent]) -> list[TicketEvent]:
    return [event for event in events if event.kind not in UNCOUNTED_KINDS]


def seen_token_of_page(*, ticket: Ticket, events: Sequence[TicketEvent], staff: bool) -> str:
    """The marker of a page from the timeline it shows (no query: the events are loaded)."""
    return seen_token(ticket=ticket, events_count=len(_counted(events)), staff=staff)


def seen_events_count(token: str) -> int | None:
    """How many events the page holding a marker showed; None for a marker that is not one."""
    head = (token or "").split(".", 1)[0]
    return int(head) if head.isdigit() and len(head) < 10 else None


def changes_since(*, events: Sequence[TicketEvent], token: str) -> list:
    """The events of a loaded timeline (in its order) that the page holding `token` did not show."""
    shown = seen_events_count(token)
    if shown is None:
        return []
    new = {event.pk for event in sorted(_counted(events), key=lambda event: event.pk)[shown:]}
    return [event for event in events if event.pk in new]


def seen_check(*, ticket: Ticket, seen: str | None, staff: bool) -> None:
    """Refuse a write made from a page that saw another state of the (locked) ticket.

    `seen` None skips the check: a write that no page prepared (the shell, an e-mail, a task).
    Call it inside the transaction that holds the ticket's row lock.
    """
    if seen is None:
        return
    events = TicketEvent.objects.filter(ticket=ticket).exclude(kind__in=UNCOUNTED_KINDS)
    if not staff:
        events = events.filter(is_public=True)
    if seen != seen_token(ticket=ticket, events_count=events.count(), staff=staff):
        raise TicketChangedError
