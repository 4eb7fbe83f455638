"""Writes of "How did we do?": the customer's answer about a closed ticket."""

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Ticket, TicketRating
from tickets.satisfaction.selectors import rating_is_open

logger = logging.getLogger(__name__)


def ticket_rating_record(
    *, ticket: Ticket, score: int, comment: str | None = None, at: datetime | None = None
) -> TicketRating:
    """Record the customer's answer, or change it while the ticket's rating window is open.

    One rating per ticket, about its closing: a closed ticket is never reopened (a new problem is
    a new ticket), so the window runs from its one `closed_at`. `comment=None` keeps the comment
    given before.
    """
    now = at or timezone.now()
    if score not in TicketRating.Score.values:
        raise ValidationError({"score": [_("Choose one of the answers.")]})
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.is_open:
            raise ValidationError(_("This ticket is not closed: you can rate it once it closes."))
        if not rating_is_open(ticket=ticket, at=now):
            raise ValidationError(
                _("The time to rate this ticket is over: answers are taken for %(days)s days.")
                % {"days": TicketRating.CHANGEABLE_FOR.days}
            )
        rating = TicketRating.objects.filter(ticket=ticket).first()
        if rating is None:
            rating = TicketRating.objects.create(
                ticket=ticket,
                score=score,
                comment=(comment or "").strip(),
                rated_at=now,
                changed_at=now,
            )
        else:
            rating.score = score
            if comment is not None:
                rating.comment = comment.strip()
            rating.changed_at = now
            rating.save(update_fields=["score", "comment", "changed_at"])
    logger.info("Ticket #%s rated %s.", ticket.number, score)
    return rating
