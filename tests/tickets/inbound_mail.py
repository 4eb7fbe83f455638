"""Replies by e-mail as a customer's mail program writes them, for the inbound tests."""

from email.message import EmailMessage
from email.utils import make_msgid

from notifications.models import Notification
from notifications.threading import notification_message_id


def portal_message_id(ticket) -> str:
    """The Message-ID of the last e-mail the customer was sent about the ticket."""
    notification = Notification.objects.filter(
        ticket=ticket, recipient_kind=Notification.RecipientKind.CUSTOMER
    ).latest("pk")
    return notification_message_id(notification_pk=notification.pk, number=ticket.number)


def reply(
    ticket,
    text="Grazie, ho provato e ora funziona.",
    *,
    sender=None,
    in_reply_to=None,
    to="support@example.com",
    headers=None,
    files=(),
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Officina <{sender or ticket.customer.email}>"
    message["To"] = to
    message["Subject"] = f"Re: Ticket #{ticket.number}"
    message["Message-ID"] = make_msgid(domain="officina.example.it")
    if in_reply_to is not False:
        message["In-Reply-To"] = in_reply_to or portal_message_id(ticket)
        message["References"] = message["In-Reply-To"]
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(
        f"{text}\n\nIl giorno lun 1 dic 2026 Supporto <support@example.com> ha scritto:\n"
        "> Try this.\n"
    )
    for name, data, content_type in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()
