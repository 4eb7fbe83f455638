"""The e-mail a notification becomes: subject, plain text and HTML, in the ticket's language."""

from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.models import choice_label
from notifications.models import Notification
from notifications.satisfaction import RATING_DAYS, rating_links
from notifications.threading import reply_address, threading_headers
from tickets.models import Ticket, TicketEvent

Kind = TicketEvent.Kind


@dataclass
class Change:
    """One event of the update, as the message tells it."""

    text: str
    body: str = ""
    files: list[str] = field(default_factory=list)
    link: str = ""


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def ticket_link(*, ticket: Ticket, for_operator: bool) -> str:
    """Return the absolute address where the recipient reads the ticket."""
    if for_operator:
        try:
            return _absolute(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
        except NoReverseMatch:
            pass
    return _absolute(reverse("tickets:detail", args=[ticket.number]))


def _subject(*, kind: str, ticket: Ticket, customer_code: str, for_operator: bool) -> str:
    number = ticket.number
    if for_operator:
        if kind == Kind.TARGET_WARNING:
            return _("Ticket #%(number)s: its service target is about to be missed") % {
                "number": number
            }
        if kind == Kind.CLOSED:
            return _("Ticket #%(number)s: the customer %(code)s has closed the ticket") % {
                "number": number,
                "code": customer_code,
            }
        return _("Ticket #%(number)s: the customer %(code)s has replied") % {
            "number": number,
            "code": customer_code,
        }
    subjects = {
        Kind.SUBMITTED: _("Ticket #%(number)s: we have received your request"),
        Kind.MESSAGE: _("Ticket #%(number)s: the support team has replied"),
        Kind.ATTACHMENT: _("Ticket #%(number)s: the support team has sent you files"),
        Kind.STATUS: _("Ticket #%(number)s: the status of your request has changed"),
        Kind.ASSIGNED: _("Ticket #%(number)s: your request has been taken in charge"),
        Kind.DUPLICATE: _("Ticket #%(number)s has been closed as a duplicate"),
        Kind.CLOSED: _("Ticket #%(number)s has been closed"),
        Kind.REOPENED: _("Ticket #%(number)s has been reopened"),
        Kind.REMOTE_REQUEST: _("Ticket #%(number)s: the operator asks for a remote session"),
    }
    template = subjects.get(kind, _("Ticket #%(number)s has been updated"))
    return template % {"number": number}


def _change(*, event: TicketEvent, ticket: Ticket, customer, for_operator: bool) -> Change:
    files = [a.original_name for a in event.attachments.all()]
    kind = event.kind
    if kind == Kind.SUBMITTED:
        text = _(
            "We have received your request “%(subject)s”. Its number is #%(number)s: "
            "please quote it whenever you contact us about this problem."
        ) % {"subject": ticket.subject, "number": ticket.number}
        return Change(text=text, files=files)
    if kind in (Kind.MESSAGE, Kind.ATTACHMENT):
        if for_operator:
            text = _("The customer %(code)s (%(company)s) has written:") % {
                "code": customer.code,
                "company": customer.company,
            }
        else:
            text = _("The support team has written:")
        if kind == Kind.ATTACHMENT:
            text = (
                _("The customer %(code)s has attached files.") % {"code": customer.code}
                if for_operator
                else _("The support team has attached files.")
            )
        return Change(text=text, body=event.body, files=files)
    if kind == Kind.STATUS:
        text = _("The status of the ticket has changed from “%(old)s” to “%(new)s”.") % {
            "old": choice_label(Ticket.Status, event.old_status),
            "new": choice_label(Ticket.Status, event.new_status),
        }
        return Change(text=text)
    if kind == Kind.ASSIGNED:
        return Change(
            text=_("An operator has taken your request in charge and will answer you soon.")
        )
    if kind == Kind.DUPLICATE:
        original = ticket.duplicate_of
        if original is None:
            return Change(text=_("This ticket has been closed as a duplicate of another one."))
        text = _(
            "This ticket has been closed as a duplicate of ticket #%(original)s: "
            "the work on your problem goes on there."
        ) % {"original": original.number}
        return Change(text=text, link=_absolute(reverse("tickets:detail", args=[original.number])))
    if kind == Kind.CLOSED:
        if for_operator:
            return Change(text=_("The customer has closed the ticket."), body=event.body)
        return Change(text=_("The ticket has been closed."), body=event.body)
    if kind == Kind.REOPENED:
        return Change(text=_("The ticket has been reopened."))
    if kind == Kind.TARGET_WARNING:
        text = _(
            "The service target of this ticket falls due soon: answer the customer, or ask a "
            "colleague to, before it is missed."
        )
        return Change(text=text, body=event.body)
    if kind == Kind.REMOTE_REQUEST:
        text = _(
            "The operator asks for a remote assistance session with TeamViewer. Open the ticket "
            "to read the instructions, confirm the authorisation and the backup warning, and give "
            "your TeamViewer ID and password through the portal. Never send the password by "
            "e-mail."
        )
        return Change(text=text, body=event.body)
    return Change(text=_("The ticket has been updated."))


def _rating_links(*, ticket: Ticket, events: list[TicketEvent], for_operator: bool) -> list:
    """The "How did we do?" answers: only in a customer's e-mail telling of a closing.

    A duplicate is not a resolution: the surviving ticket asks when it closes.
    """
    if for_operator or ticket.status != Ticket.Status.CLOSED:
        return []
    if not any(event.kind == Kind.CLOSED for event in events):
        return []
    return rating_links(number=ticket.number, absolute=_absolute)


def message_build(*, notification: Notification) -> EmailMultiAlternatives:
    """Render a notification as a multipart e-mail in the ticket's language."""
    ticket = notification.ticket
    customer = ticket.customer
    for_operator = notification.recipient_kind == Notification.RecipientKind.OPERATOR
    events = list(
        notification.events.filter(Q(is_public=True) | Q(kind=Kind.TARGET_WARNING))
        .prefetch_related("attachments")
        .order_by("created_at", "pk")
    )
    if ticket.duplicate_of_id and any(e.kind == Kind.DUPLICATE for e in events):
        ticket = Ticket.objects.select_related("customer", "duplicate_of").get(pk=ticket.pk)
    with translation.override(notification.language):
        changes = [
            _change(event=e, ticket=ticket, customer=customer, for_operator=for_operator)
            for e in events
        ]
        first_kind = events[0].kind if events else notification.event.kind
        subject = _subject(
            kind=first_kind, ticket=ticket, customer_code=customer.code, for_operator=for_operator
        )
        context = {
            "subject": subject,
            "ticket": ticket,
            "ticket_status": ticket.status_label,
            "customer": customer,
            "for_operator": for_operator,
            "changes": changes,
            "link": ticket_link(ticket=ticket, for_operator=for_operator),
            # The support mailbox is read (tickets.inbound): customers may answer by e-mail.
            "replies_by_email": bool(settings.INBOUND_IMAP_URL) and not for_operator,
            "rating_links": _rating_links(ticket=ticket, events=events, for_operator=for_operator),
            "rating_days": RATING_DAYS,
        }
        text = render_to_string("notifications/email/ticket_update.txt", context)
        html = render_to_string("notifications/email/ticket_update.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={
            # A Message-ID stable across attempts, so that a receiver can recognise a repeated
            # delivery, answering the ticket's root: one conversation per ticket.
            **threading_headers(notification_pk=notification.pk, number=ticket.number),
            "Auto-Submitted": "auto-generated",
            "X-Ticket-Number": str(ticket.number),
        },
    )
    reply_to = reply_address(number=ticket.number) if context["replies_by_email"] else None
    if reply_to:
        message.reply_to = [formataddr((parseaddr(settings.DEFAULT_FROM_EMAIL)[0], reply_to))]
    message.attach_alternative(html, "text/html")
    return message
