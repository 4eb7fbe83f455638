"""One message from the support mailbox: kept, and added to its ticket when it is a reply there.

A message is added only when all of these hold: it is not automatic (RFC 3834 and the like);
our mail server did not find its sender forged (Authentication-Results); it names a ticket (the
signed reply address first, then the portal's own identifiers in In-Reply-To and References);
it comes from that ticket's customer address, or from a member of the workshop who sees the
ticket (tickets.selectors.ticket_scope); and the same service as the portal's reply form
accepts it (calendar open, account not suspended, ticket open, files within the limits).
Anything else is kept with its reason in the admin's list of e-mails received, for staff:
nothing a customer writes is lost, and nothing reaches a ticket it does not belong to.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.threading import referenced_ticket_number, reply_address_ticket_number
from schedule.gate import ServiceClosedError
from tickets.forms import attachment_kind_by_type
from tickets.inbound.answers import answer_due, inbound_answer_send
from tickets.inbound.parsing import ParsedMail, mail_parse
from tickets.models import InboundMail, Ticket, TicketEvent
from tickets.selectors import ticket_is_visible
from tickets.services import ticket_reply_customer
from tickets.uploads import clean_upload

Outcome = InboundMail.Outcome


@dataclass
class _Decision:
    outcome: str | None  # None: to be added
    reason: str = ""
    ticket: Ticket | None = None
    author: object = None  # who of the workshop wrote it, when it is to be added


def _ticket_named(parsed: ParsedMail) -> Ticket | None:
    number = next(
        (n for n in map(reply_address_ticket_number, parsed.recipients) if n is not None), None
    )
    if number is None:
        number = referenced_ticket_number(parsed.references)
    if number is None:
        return None
    return Ticket.objects.select_related("customer__user").filter(number=number).first()


def _decide(parsed: ParsedMail, *, too_large: bool) -> _Decision:
    ticket = _ticket_named(parsed)
    if parsed.automatic:
        return _Decision(Outcome.AUTOMATIC, parsed.automatic, ticket)
    if parsed.unauthenticated:
        reason = _("Our mail server found the sender forged (%(result)s).") % {
            "result": parsed.unauthenticated
        }
        return _Decision(Outcome.UNAUTHENTICATED, reason, ticket)
    if too_large:
        limit = settings.INBOUND_MAIL_MAX_SIZE // (1024 * 1024)
        reason = _("The message is larger than %(limit)s MB.") % {"limit": limit}
        return _Decision(Outcome.REFUSED, reason, ticket)
    if parsed.problem:
        return _Decision(Outcome.REFUSED, parsed.problem, ticket)
    if ticket is None:
        return _Decision(Outcome.UNMATCHED, _("No ticket is named by the address or headers."))
    author = _workshop_sender(parsed, ticket=ticket)
    if author is None:
        return _Decision(
            Outcome.WRONG_SENDER,
            _(
                "Sent by %(sender)s; the ticket's customer writes from %(address)s, or a "
                "member of the workshop who sees the ticket from their own."
            )
            % {"sender": parsed.sender or "?", "address": ticket.customer.email},
            ticket,
        )
    if not parsed.reply and not parsed.files:
        return _Decision(Outcome.REFUSED, _("The message has no text and no file."), ticket)
    return _Decision(None, ticket=ticket, author=author)


def _workshop_sender(parsed: ParsedMail, *, ticket: Ticket):
    """The person of the ticket's workshop who sent the message, if they see the ticket."""
    if not parsed.sender:
        return None
    if parsed.sender == ticket.customer.email.lower():
        return ticket.customer.user
    person = (
        get_user_model()
        .objects.select_related("customer", "membership__customer")
        .filter(email__iexact=parsed.sender, is_active=True, is_staff=False)
        .first()
    )
    if person is None or not ticket_is_visible(ticket=ticket, user=person):
        return None
    return person


def _files_cleaned(parsed: ParsedMail) -> tuple[list, list[str]]:
    """The files that pass the portal's checks, and why each other one was refused."""
    cleaned, refused = [], []
    for number, file in enumerate(parsed.files):
        if number >= settings.ATTACHMENT_MAX_COUNT:
            refused.append(
                _("“%(name)s”: at most %(limit)s files a message.")
                % {"name": file.name, "limit": settings.ATTACHMENT_MAX_COUNT}
            )
            continue
        upload = SimpleUploadedFile(file.name, file.data, file.content_type)
        try:
            clean = clean_upload(upload)
        except ValidationError as exc:
            refused.extend(exc.messages)
            continue
        cleaned.append((attachment_kind_by_type(clean), clean))
    return cleaned, refused


def _reply_add(
    *, parsed: ParsedMail, ticket: Ticket, author, at: datetime
) -> tuple[str, str, TicketEvent | None]:
    files, refused = _files_cleaned(parsed)
    if not parsed.reply and not files:
        return Outcome.REFUSED, "\n".join(refused), None
    try:
        with transaction.atomic():
            event = ticket_reply_customer(
                ticket=ticket,
                customer=ticket.customer,
                author=author,
                body=parsed.reply,
                files=files,
                at=at,
            )
    except ServiceClosedError as exc:
        return Outcome.SERVICE_CLOSED, str(exc.status.reason), None
    except PermissionDenied as exc:
        return Outcome.SUSPENDED, str(exc), None
    except ValidationError as exc:
        ticket.refresh_from_db(fields=["status"])
        outcome = Outcome.TICKET_CLOSED if not ticket.is_open else Outcome.REFUSED
        return outcome, "\n".join(exc.messages), None
    return Outcome.ADDED, "\n".join(refused), event


def inbound_mail_receive(
    *, raw: bytes, at: datetime | None = None, too_large: bool = False, size: int | None = None
) -> InboundMail:
    """Keep one message read from the mailbox, adding it to its ticket if it is a reply there.

    Idempotent: a message whose Message-ID was received already returns the row kept then.
    `too_large` says the mailbox held more than INBOUND_MAIL_MAX_SIZE and `raw` is its header.
    """
    at = at or timezone.now()
    parsed = mail_parse(raw)
    known = InboundMail.objects.filter(message_id=parsed.message_id).first()
    if known is not None:
        return known
    decision = _decide(parsed, too_large=too_large)
    mail = InboundMail(
        message_id=parsed.message_id,
        received_at=at,
        sender=parsed.sender,
        subject=parsed.subject,
        text=parsed.reply,
        ticket=decision.ticket,
        outcome=decision.outcome or Outcome.REFUSED,
        reason=decision.reason,
        size=size if size is not None else len(raw),
    )
    mail.original.save("message.eml", ContentFile(raw), save=False)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    mail.save()
            except IntegrityError:
                # Read at the same time by another fetch, which kept it first.
                mail.original.delete(save=False)
                return InboundMail.objects.get(message_id=parsed.message_id)
            if decision.outcome is None:
                mail.outcome, mail.reason, mail.event = _reply_add(
                    parsed=parsed, ticket=decision.ticket, author=decision.author, at=at
                )
                mail.save(update_fields=["outcome", "reason", "event"])
            if answer_due(mail):
                mail.answer = InboundMail.Answer.PENDING
                mail.save(update_fields=["answer"])
                transaction.on_commit(partial(inbound_answer_send.delay, mail.pk))
    except Exception:
        mail.original.delete(save=False)
        raise
    return mail
