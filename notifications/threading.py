"""How the e-mails about a ticket thread together, and the address a reply to them goes to.

Threading: every e-mail about a ticket, to the customer or to an operator, has a Message-ID of
its own (stable across delivery attempts) and answers one root per ticket, `<ticket.N@domain>`,
in In-Reply-To and References: mail clients show one conversation per ticket.

Reply address: `support+t<number>-<signature>@domain`, from INBOUND_REPLY_ADDRESS, names the
ticket a reply belongs to. The signature is an HMAC of the number under the SECRET_KEY (80 bits,
base32): the ticket number alone, which is sequential and printed in every subject, cannot be
turned into a valid address. Addresses signed with a key of SECRET_KEY_FALLBACKS stay valid after
a key rotation.
"""

import base64
import re
from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "notifications.threading.reply-address"
_SIGNATURE_LENGTH = 16  # base32 characters: 80 bits
_TAG = re.compile(
    rf"t(?P<number>[1-9][0-9]{{0,17}})-(?P<signature>[a-z2-7]{{{_SIGNATURE_LENGTH}}})"
)


def mail_domain() -> str:
    """The domain of the portal's own message identifiers: the sender's."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


def ticket_thread_root(*, number: int) -> str:
    """The identifier every e-mail about the ticket answers."""
    return f"<ticket.{number}@{mail_domain()}>"


def notification_message_id(*, notification_pk: int, number: int) -> str:
    """The Message-ID of one notification, the same at every delivery attempt."""
    return f"<notification.{notification_pk}.{number}@{mail_domain()}>"


def threading_headers(*, notification_pk: int, number: int) -> dict[str, str]:
    root = ticket_thread_root(number=number)
    return {
        "Message-ID": notification_message_id(notification_pk=notification_pk, number=number),
        "In-Reply-To": root,
        "References": root,
    }


def _signature(number: int, secret) -> str:
    digest = salted_hmac(_SALT, str(number), secret=secret, algorithm="sha256").digest()
    return base64.b32encode(digest).decode("ascii")[:_SIGNATURE_LENGTH].lower()


def reply_address(*, number: int) -> str | None:
    """The address a reply about the ticket goes to; None while INBOUND_REPLY_ADDRESS is unset."""
    inbound = settings.INBOUND_REPLY_ADDRESS
    if not inbound:
        return None
    local, _, domain = inbound.rpartition("@")
    return f"{local}+t{number}-{_signature(number, settings.SECRET_KEY)}@{domain}"


def reply_address_ticket_number(address: str) -> int | None:
    """The number of the ticket a reply address names, or None if it names none validly.

    The address must be INBOUND_REPLY_ADDRESS with a tag whose signature holds, under the
    current key or one of SECRET_KEY_FALLBACKS; case does not matter (some servers lower it).
    """
    inbound = settings.INBOUND_REPLY_ADDRESS.lower()
    if not inbound:
        return None
    local, _, domain = parseaddr(address)[1].lower().rpartition("@")
    base, plus, tag = local.partition("+")
    if not plus or f"{base}@{domain}" != inbound:
        return None
    match = _TAG.fullmatch(tag)
    if match is None:
        return None
    number = int(match["number"])
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        if constant_time_compare(match["signature"], _signature(number, secret)):
            return number
    return None


_REFERENCE = re.compile(r"<(?:notification\.[0-9]+\.|ticket\.)([1-9][0-9]{0,17})@([^>\s]+)>")


def referenced_ticket_number(header_values: list[str]) -> int | None:
    """The ticket an e-mail answers, from its In-Reply-To and References, or None.

    Only identifiers the portal wrote count (its own domain): the last one found, that is the
    most recent message answered.
    """
    domain = mail_domain().lower()
    found = [
        int(number)
        for value in header_values
        for number, host in _REFERENCE.findall(value or "")
        if host.lower() == domain
    ]
    return found[-1] if found else None
