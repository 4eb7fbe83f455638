"""Replies by e-mail on the production path: a real worker's beat reads a real Dovecot mailbox,
adds the reply in PostgreSQL, and the operator's e-mail and the automatic answer leave through
Redis and a real SMTP server."""

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from notifications.models import Notification
from notifications.threading import notification_message_id
from tests.notifications.live import wait_until
from tests.notifications.test_live import submit
from tickets import services as tickets_services
from tickets.models import InboundMail, TicketEvent

pytestmark = [
    pytest.mark.live,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

TIMEOUT = 60


def mail(*, sender: str, text: str, in_reply_to: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@example.com"
    message["Subject"] = "Re: Ticket"
    message["Message-ID"] = make_msgid(domain="workshop.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    message.set_content(f"{text}\n\n> The support team has written:\n> Try this.\n")
    return message.as_bytes()


def test_the_beat_reads_a_reply_into_its_ticket_and_the_e_mails_go_out(
    world, machine_redis, publish_to, start_worker, smtp_sink, dovecot
):
    publish_to(machine_redis)
    customer, operator = world["customer"], world["operator"]
    ticket = submit(world, language="en", subject="Reading fails at 12%")
    tickets_services.ticket_take(ticket=ticket, operator=operator)
    tickets_services.ticket_reply_staff(ticket=ticket, operator=operator, body="Try this.")
    answer = Notification.objects.filter(ticket=ticket, recipient=customer.email).latest("pk")
    dovecot.append(
        mail(
            sender=customer.email,
            text="Still failing at 12%.",
            in_reply_to=notification_message_id(notification_pk=answer.pk, number=ticket.number),
        )
    )
    dovecot.append(mail(sender="stranger@elsewhere.example", text="Can you help me?"))

    worker = start_worker(
        machine_redis,
        name="inbound",
        INBOUND_IMAP_URL=dovecot.url,
        INBOUND_IMAP_POLL_SECONDS="1",
        # The worker runs the customer's service, gated by the calendar: open it at this hour.
        DJANGO_DEBUG="true",
        DEMO_SERVICE_ALWAYS_OPEN="true",
    )

    def arrived():
        recipients = {r for m in smtp_sink.handler.snapshot() for r in m.recipients}
        return (
            InboundMail.objects.count() == 2
            and {
                operator.email,
                "stranger@elsewhere.example",
            }
            <= recipients
        )

    wait_until(
        arrived,
        timeout=TIMEOUT,
        what="the reply added, its operator told and the stranger answered",
        detail=lambda: (
            f"{list(InboundMail.objects.values('outcome', 'reason'))}\n{worker.log_tail()}"
        ),
    )
    kept = InboundMail.objects.get(sender=customer.email)
    assert kept.outcome == InboundMail.Outcome.ADDED
    assert TicketEvent.objects.get(pk=kept.event_id).body == "Still failing at 12%."
    stranger = InboundMail.objects.get(sender="stranger@elsewhere.example")
    assert stranger.outcome == InboundMail.Outcome.UNMATCHED
    answers = [
        m for m in smtp_sink.handler.snapshot() if "stranger@elsewhere.example" in m.recipients
    ]
    assert len(answers) == 1
    assert answers[0].message["Auto-Submitted"] == "auto-replied"
    assert all(m.seen for m in dovecot.messages())
