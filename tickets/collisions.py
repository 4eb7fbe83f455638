"""The stale-write guard: what a ticket page showed, and the refusal when the ticket moved on.

Each form of a ticket page carries a marker of what the page showed (`seen_token`): the newest
event of its timeline, the status and, for staff, the operator. Every visible change of a ticket
adds an event (a reply, a note, a take, a status change, a close, a reply by e-mail, a remote-
access request) or moves the status or the operator; event ids grow in the order the events
were written, because every service writes them while holding the ticket's row lock. A service
given a marker compares it, under that same lock, with the ticket as it is: two posts of the same
page cannot both pass. A customer's marker counts public events only: an internal note is not a
change the customer can see.
"""

from collections.abc import Iterable

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
                "Read what changed, listed here; your text is kept: send it again to confirm."
            ),
            code=CHANGED_CODE,
        )


def seen_token(*, ticket: Ticket, last_event_id: int | None, staff: bool) -> str:
    """Say what a page shows of a ticket in one short string, compared as a whole."""
    parts = [str(last_event_id or 0), ticket.status]
    if staff:
        parts.append(str(ticket.assigned_to_id or 0))
    return ".".join(parts)


def seen_token_of_page(*, ticket: Ticket, events: Iterable[TicketEvent], staff: bool) -> str:
    """The marker of a page from the timeline it shows (no query: the events are loaded)."""
    last = max((event.pk for event in events), default=None)
    return seen_token(ticket=ticket, last_event_id=last, staff=staff)


def seen_last_event_id(token: str) -> int:
    """The newest event id a marker names; 0 for a marker that is not one."""
    head = (token or "").split(".", 1)[0]
    return int(head) if head.isdigit() and len(head) < 19 else 0


def changes_since(*, events: Iterable[TicketEvent], token: str) -> list:
    """The events of a loaded timeline that the page holding `token` did not show."""
    last = seen_last_event_id(token)
    return [event for event in events if event.pk > last]


def seen_check(*, ticket: Ticket, seen: str | None, staff: bool) -> None:
    """Refuse a write made from a page that saw another state of the (locked) ticket.

    `seen` None skips the check: a write that no page prepared (the shell, an e-mail, a task).
    Call it inside the transaction that holds the ticket's row lock.
    """
    if seen is None:
        return
    events = TicketEvent.objects.filter(ticket=ticket)
    if not staff:
        events = events.filter(is_public=True)
    last = events.order_by("-pk").values_list("pk", flat=True).first()
    if seen != seen_token(ticket=ticket, last_event_id=last, staff=staff):
        raise TicketChangedError
