"""The signed links of "How did we do?" in a closing e-mail, and how the portal reads them back.

A link names the ticket and the answer clicked, signed with django.core.signing under the
SECRET_KEY (SECRET_KEY_FALLBACKS honoured: links survive a key rotation) and a salt of its own,
with the instant it was made: it works without logging in, for one ticket only, and for as long
as the answer may be changed (TicketRating.CHANGEABLE_FOR). The portal page it opens
(tickets.satisfaction.views) records nothing on GET.
"""

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from tickets.models import TicketRating

_SALT = "notifications.satisfaction.rating-link"
RATING_DAYS = TicketRating.CHANGEABLE_FOR.days


class RatingLinkExpiredError(Exception):
    """The link was genuine but is older than the rating window."""


class RatingLinkInvalidError(Exception):
    """The link was not made by the portal, or was altered."""


@dataclass(frozen=True)
class RatingLink:
    score: int
    label: str
    url: str


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


def rating_token(*, number: int, score: int) -> str:
    """Sign the ticket number and the answer, stamped with the current instant."""
    return _signer().sign(f"{number}.{score}")


def rating_token_read(token: str) -> tuple[int, int]:
    """Return (ticket number, score) of a genuine, unexpired token, or raise."""
    try:
        value = _signer().unsign(token, max_age=TicketRating.CHANGEABLE_FOR)
    except signing.SignatureExpired as exc:
        raise RatingLinkExpiredError from exc
    except signing.BadSignature as exc:
        raise RatingLinkInvalidError from exc
    number, _dot, score = value.partition(".")
    if not (number.isdigit() and score.isdigit() and int(score) in TicketRating.Score.values):
        raise RatingLinkInvalidError
    return int(number), int(score)


def rating_links(*, number: int, absolute) -> list[RatingLink]:
    """The one-click answers of a closing e-mail, best first, labelled in the active language."""
    return [
        RatingLink(
            score=score.value,
            label=str(score.label),
            url=absolute(
                reverse(
                    "tickets:rating-link", args=[rating_token(number=number, score=score.value)]
                )
            ),
        )
        for score in TicketRating.Score
    ]
