"""The automatic answer to a message the mailbox could not add to a ticket (RFC 3834).

Whoever wrote is told why, in their language, with their own text quoted back when it came from
the ticket's customer (nothing is lost: the same rule as the portal's form that comes back filled
in). Never to automatic mail; at most INBOUND_ANSWERS_PER_HOUR answers to one address an hour,
and one a day to an address whose message named no ticket of theirs; every answer carries
`Auto-Submitted: auto-replied`, so a well-behaved autoresponder does not answer it back.
"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from core.dates import datetime_short, in_service_zone
from customers.models import Customer
from schedule import gate
from tickets.models import InboundMail

Outcome = InboundMail.Outcome
# Answered to whoever wrote: these name no ticket of the sender's, so nothing of one is said.
_STRANGER_OUTCOMES = {Outcome.UNMATCHED, Outcome.WRONG_SENDER, Outcome.REFUSED}
# Answered to the ticket's customer (the sender was checked), their text quoted back.
_CUSTOMER_OUTCOMES = {Outcome.SERVICE_CLOSED, Outcome.SUSPENDED, Outcome.TICKET_CLOSED}


def answer_due(mail: InboundMail) -> bool:
    """Whether the message gets an automatic answer (before its row is saved)."""
    if not mail.sender or mail.outcome == Outcome.AUTOMATIC:
        return False
    if mail.outcome == Outcome.ADDED:
        due = bool(mail.reason)  # files were refused: say which
    else:
        due = mail.outcome in _STRANGER_OUTCOMES | _CUSTOMER_OUTCOMES
    if not due:
        return False
    answered = InboundMail.objects.filter(
        sender=mail.sender, answer__in=[InboundMail.Answer.PENDING, InboundMail.Answer.SENT]
    )
    now = mail.received_at
    if answered.filter(received_at__gte=now - timedelta(hours=1)).count() >= (
        settings.INBOUND_ANSWERS_PER_HOUR
    ):
        return False
    if mail.outcome in _STRANGER_OUTCOMES:
        return not answered.filter(
            received_at__gte=now - timedelta(days=1), outcome__in=_STRANGER_OUTCOMES
        ).exists()
    return True


def _language(mail: InboundMail) -> str:
    if mail.ticket_id and mail.outcome not in _STRANGER_OUTCOMES:
        return mail.ticket.customer.language
    customer = Customer.objects.filter(user__email__iexact=mail.sender).only("language").first()
    return customer.language if customer else settings.LANGUAGE_CODE


def answer_build(mail: InboundMail) -> EmailMessage:
    portal = settings.PORTAL_BASE_URL.rstrip("/")
    language = _language(mail)
    with translation.override(language):
        context = {
            "mail": mail,
            "stranger": mail.outcome in _STRANGER_OUTCOMES,
            "portal": portal + reverse("tickets:home"),
            "quoted": "\n".join(f"> {line}" for line in mail.text.splitlines()),
        }
        if mail.ticket_id and not context["stranger"]:
            context["number"] = mail.ticket.number
            context["link"] = portal + reverse("tickets:detail", args=[mail.ticket.number])
        if mail.outcome == Outcome.SERVICE_CLOSED:
            opening = gate.service_status(at=mail.received_at).next_opening
            context["opening"] = datetime_short(in_service_zone(opening)) if opening else ""
        body = render_to_string("tickets/email/inbound_answer.txt", context).strip() + "\n"
    subject = mail.subject if mail.subject.lower().startswith("re:") else f"Re: {mail.subject}"
    return EmailMessage(
        subject=subject.strip()[:250],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.sender],
        headers={
            "Auto-Submitted": "auto-replied",
            "X-Auto-Response-Suppress": "All",
            "In-Reply-To": mail.message_id,
            "References": mail.message_id,
        },
    )


@shared_task(
    name="tickets.inbound_answer_send",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=900,
    max_retries=8,
)
def inbound_answer_send(mail_id: int) -> bool:
    """Send the answer a kept message is due, once; False if it was sent or is not due."""
    with transaction.atomic():
        mail = (
            InboundMail.objects.select_for_update(of=("self",))
            .select_related("ticket__customer")
            .filter(pk=mail_id, answer=InboundMail.Answer.PENDING)
            .first()
        )
        if mail is None:
            return False
        answer_build(mail).send(fail_silently=False)
        mail.answer = InboundMail.Answer.SENT
        mail.answered_at = timezone.now()
        mail.save(update_fields=["answer", "answered_at"])
    return True
