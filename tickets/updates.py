"""What one ticket service changed: the ticket and the events it recorded, as one update.

A service records its events inside its own `transaction.atomic()` and hands them over together,
once, at the end of that block: whoever hears of the update (the notifications outbox) sees the
whole of it, so that an operator's reply that also changes the status is one update, told in one
e-mail, without anyone guessing which events belong together from the transaction's internals.
"""

from dataclasses import dataclass

from tickets.models import Ticket, TicketEvent


@dataclass(frozen=True)
class Update:
    """A ticket and the events one service call recorded on it, in the order recorded."""

    ticket: Ticket
    events: tuple[TicketEvent, ...]
