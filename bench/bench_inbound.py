"""Read 1,000 waiting messages from a real IMAP mailbox into their tickets; messages per second.

    .venv/bin/python bench/bench_inbound.py [--messages 1000]

Needs PostgreSQL at postgres://postgres@127.0.0.1:5432 and Dovecot (`dovecot-imapd`; it starts its
own on a free port, tests/mailserver.py). Creates portal_bench_inbound (dropped first) on the test
settings (Celery eager: each reply added e-mails its operator in the same process, as the embedded
default does), a customer with a ticket its operator answered, then APPENDs the messages: 80 %
replies to that ticket, 10 % from an address that is not the customer's, 10 % automatic. One
`inbound_mail_fetch` reads them all; prints the APPEND and fetch rates, the outcomes, and checks
that every message was kept once, marked read, and that a second delivery of 100 of them adds
nothing. The service calendar is pinned open in this process, so that the hour does not refuse
the replies.
"""

import argparse
import sys
import time
from collections import Counter
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_workshop, django_on_fresh_database  # noqa: E402
from tests.mailserver import Dovecot, dovecot_missing  # noqa: E402

DB_NAME = "portal_bench_inbound"


def message(*, sender: str, in_reply_to: str, number: int, automatic: bool) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@example.com"
    mail["Subject"] = f"Re: Ticket, message {number}"
    mail["Message-ID"] = make_msgid(idstring=str(number), domain="bench.example")
    mail["In-Reply-To"] = in_reply_to
    mail["References"] = in_reply_to
    if automatic:
        mail["Auto-Submitted"] = "auto-replied"
    mail.set_content(
        f"Message {number}: the tool still says error 0x{number:04x}.\n\n"
        "Il giorno lun 1 dic 2026 Supporto <support@example.com> ha scritto:\n> Try this.\n"
    )
    return mail.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    options = parser.parse_args()
    missing = dovecot_missing()
    if missing:
        print(f"bench_inbound: needs {missing}", file=sys.stderr)
        sys.exit(2)

    django_on_fresh_database(DB_NAME)
    from django.utils import timezone

    from notifications.models import Notification
    from notifications.threading import notification_message_id
    from schedule import gate, middleware
    from tickets import services as tickets_services
    from tickets.inbound.mailbox import inbound_mail_fetch
    from tickets.models import InboundMail, TicketEvent

    open_now = gate.ServiceStatus(
        state=gate.ServiceState.OPEN, reason="", next_opening=None, at=timezone.now()
    )
    gate.service_status = middleware.service_status = lambda *, at=None: open_now
    customer, unit, terms, operator = bench_workshop(code="BENCHIN", serial_number="BI00001")
    product = unit.product
    ticket = tickets_services.ticket_create(
        customer=customer,
        product=product,
        unit=unit,
        kind="problem",
        language="en",
        subject="Bench: replies by e-mail",
        description="Error on reading.",
        vehicle_description="Fiat Ducato 2.3",
        error_message="Error 0x31 while reading.",
        terms_version=terms,
    )
    tickets_services.ticket_take(ticket=ticket, operator=operator)
    tickets_services.ticket_reply_staff(ticket=ticket, operator=operator, body="Try this.")
    last = Notification.objects.filter(ticket=ticket, recipient=customer.email).latest("pk")
    answered_id = notification_message_id(notification_pk=last.pk, number=ticket.number)

    kinds = []
    raws = []
    for number in range(options.messages):
        kind = "reply" if number % 10 < 8 else ("stranger" if number % 10 == 8 else "automatic")
        kinds.append(kind)
        raws.append(
            message(
                sender="someone@else.example" if kind == "stranger" else customer.email,
                in_reply_to=answered_id,
                number=number,
                automatic=kind == "automatic",
            )
        )

    with Dovecot() as dovecot:
        started = time.perf_counter()
        for raw in raws:
            dovecot.append(raw)
        appended = time.perf_counter() - started

        started = time.perf_counter()
        outcomes = inbound_mail_fetch(url=dovecot.url)
        fetched = time.perf_counter() - started
        unread = sum(not m.seen for m in dovecot.messages())

        for raw in raws[:100]:
            dovecot.append(raw)
        started = time.perf_counter()
        again = inbound_mail_fetch(url=dovecot.url)
        refetched = time.perf_counter() - started

    expected = Counter(
        {"reply": "added", "stranger": "wrong_sender", "automatic": "automatic"}[k] for k in kinds
    )
    kept = InboundMail.objects.count()
    added = TicketEvent.objects.filter(
        ticket=ticket, author=customer.user, kind=TicketEvent.Kind.MESSAGE
    ).count()
    n = options.messages
    print(f"{n} messages APPENDed in {appended:.1f} s ({n / appended:.0f}/s)")
    print(f"one fetch read them in {fetched:.1f} s: {n / fetched:.1f} messages/s")
    print(f"  outcomes: { ({str(k): v for k, v in sorted(outcomes.items())}) }")
    print(f"  kept {kept}, replies added {added}, left unread {unread}")
    again_outcomes = {str(k): v for k, v in again.items()}
    print(f"100 delivered again: read in {refetched:.1f} s, outcomes {again_outcomes}")
    ok = (
        dict(outcomes) == dict(expected)
        and kept == n
        and added == expected["added"]
        and unread == 0
        and sum(again.values()) == 100
        and InboundMail.objects.count() == n
    )
    print("OK: every message kept once, read, and added once if a reply" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
