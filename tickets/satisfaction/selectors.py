"""Reads of "How did we do?": whether a ticket may still be rated, and the customer's answer."""

from datetime import datetime

from django.utils import timezone

from tickets.models import Ticket, TicketRating


def rating_open_until(*, ticket: Ticket) -> datetime | None:
    """Return until when the ticket's rating may be given or changed; None while it is open."""
    if ticket.is_open or ticket.closed_at is None:
        return None
    return ticket.closed_at + TicketRating.CHANGEABLE_FOR


def rating_is_open(*, ticket: Ticket, at: datetime | None = None) -> bool:
    """Say whether the customer may still rate the ticket, or change their answer."""
    until = rating_open_until(ticket=ticket)
    return until is not None and (at or timezone.now()) < until


def rating_get(*, ticket: Ticket) -> TicketRating | None:
    """Return the ticket's rating, if the customer gave one."""
    return TicketRating.objects.filter(ticket=ticket).first()
