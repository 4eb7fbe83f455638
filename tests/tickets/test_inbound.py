"""A message from the support mailbox: kept, and added to its ticket only when it is a reply there.

These tests hand raw messages to the service the mailbox reader calls (tests/tickets/
test_inbound_imap.py reads them from a real IMAP server).
"""

from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.core import mail as outbox
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.dates import datetime_short, in_service_zone
from notifications.threading import reply_address
from schedule import gate
from tests.conftest import make_image, pin_service_status
from tests.tickets.inbound_mail import portal_message_id, reply
from tickets import services as tickets_services
from tickets.inbound.services import inbound_mail_receive
from tickets.models import Attachment, InboundMail, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

Outcome = InboundMail.Outcome


def test_a_reply_lands_in_its_ticket_without_the_quoted_history(answered, on_commit):
    raw = reply(answered)
    outbox.outbox.clear()

    with on_commit():
        kept = inbound_mail_receive(raw=raw)

    assert kept.outcome == Outcome.ADDED
    assert kept.event.body == "Grazie, ho provato e ora funziona."
    assert kept.event.author == answered.customer.user
    assert kept.event.kind == TicketEvent.Kind.MESSAGE
    answered.refresh_from_db()
    assert answered.status == Ticket.Status.TAKEN  # back to its operator, as a portal reply
    assert any(answered.assigned_to.email in m.to for m in outbox.outbox)  # who is told
    assert b"Try this." in kept.original.read()  # the original, whole, for staff


def test_the_same_message_read_twice_is_added_once(answered):
    raw = reply(answered)

    first = inbound_mail_receive(raw=raw)
    second = inbound_mail_receive(raw=raw)

    assert first.pk == second.pk
    assert TicketEvent.objects.filter(ticket=answered, kind="message").count() == 2  # op + 1


def test_the_signed_reply_address_names_the_ticket_without_headers(answered, settings):
    settings.INBOUND_REPLY_ADDRESS = "support@example.com"

    kept = inbound_mail_receive(
        raw=reply(answered, in_reply_to=False, to=reply_address(number=answered.number))
    )

    assert kept.outcome == Outcome.ADDED
    assert kept.ticket == answered


def test_a_ticket_number_alone_in_the_address_matches_nothing(answered, settings):
    settings.INBOUND_REPLY_ADDRESS = "support@example.com"
    forged = f"support+t{answered.number}@example.com"

    kept = inbound_mail_receive(raw=reply(answered, in_reply_to=False, to=forged))

    assert kept.outcome == Outcome.UNMATCHED
    assert kept.event is None


def test_a_reply_from_another_address_is_kept_for_staff_not_added(answered):
    kept = inbound_mail_receive(raw=reply(answered, sender="someone@else.example.com"))

    assert kept.outcome == Outcome.WRONG_SENDER
    assert kept.ticket == answered
    assert "someone@else.example.com" in kept.reason
    assert not TicketEvent.objects.filter(ticket=answered, body__startswith="Grazie").exists()


def test_headers_of_another_domain_match_nothing(answered):
    foreign = f"<ticket.{answered.number}@elsewhere.example.com>"

    assert inbound_mail_receive(raw=reply(answered, in_reply_to=foreign)).outcome == (
        Outcome.UNMATCHED
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
        {"List-Id": "<workshops.lists.example.com>"},
    ],
    ids=["auto-submitted", "precedence", "x-autoreply", "list"],
)
def test_automatic_mail_is_ignored(answered, headers):
    kept = inbound_mail_receive(raw=reply(answered, headers=headers))

    assert kept.outcome == Outcome.AUTOMATIC
    assert kept.event is None


def test_auto_submitted_no_is_a_person_writing(answered):
    kept = inbound_mail_receive(raw=reply(answered, headers={"Auto-Submitted": "no"}))

    assert kept.outcome == Outcome.ADDED


def test_while_the_service_is_closed_the_reply_is_kept_not_added(answered, monkeypatch):
    pin_service_status(
        monkeypatch,
        gate.ServiceStatus(
            state=gate.ServiceState.CLOSURE,
            reason="Closed for the summer.",
            next_opening=None,
            at=gate.timezone.now(),
        ),
    )

    kept = inbound_mail_receive(raw=reply(answered))

    assert kept.outcome == Outcome.SERVICE_CLOSED
    assert kept.reason == "Closed for the summer."
    assert kept.text.startswith("Grazie")
    answered.refresh_from_db()
    assert answered.status == Ticket.Status.ANSWERED


def test_a_suspended_customer_s_reply_is_kept_not_added(answered):
    customer = answered.customer
    customer.is_suspended = True
    customer.suspension_reason = "Unpaid invoice 2026/118"
    customer.save()

    kept = inbound_mail_receive(raw=reply(answered))

    assert kept.outcome == Outcome.SUSPENDED
    assert "Unpaid invoice 2026/118" in kept.reason


def test_a_reply_to_a_closed_ticket_is_kept_not_added(answered, operator):
    tickets_services.ticket_close(ticket=answered, user=operator)

    assert inbound_mail_receive(raw=reply(answered)).outcome == Outcome.TICKET_CLOSED


def test_files_go_through_the_portal_s_checks(answered):
    photo = make_image("centralina.png").read()
    kept = inbound_mail_receive(
        raw=reply(
            answered,
            files=[
                ("centralina.png", photo, "image/png"),
                ("fake.png", b"not an image at all", "image/png"),
                ("tool.exe", b"MZ...", "application/octet-stream"),
            ],
        )
    )

    assert kept.outcome == Outcome.ADDED
    [stored] = Attachment.objects.filter(event=kept.event)
    assert stored.original_name == "centralina.png"
    assert stored.kind == Attachment.Kind.IMAGE
    assert "fake.png" in kept.reason
    assert "tool.exe" in kept.reason


def test_a_message_that_matches_nothing_is_kept_for_staff(customer):
    message = EmailMessage()
    message["From"] = customer.email
    message["To"] = "support@example.com"
    message["Subject"] = "Una domanda"
    message.set_content("Buongiorno, ho un problema con il KESS.")

    kept = inbound_mail_receive(raw=message.as_bytes())

    assert kept.outcome == Outcome.UNMATCHED
    assert kept.ticket is None
    assert kept.message_id.startswith("<sha256.")  # no Message-ID: named by its content


def test_an_unknown_charset_is_a_clear_outcome_not_a_crash(answered):
    raw = reply(answered).replace(b'charset="utf-8"', b'charset="x-no-such-charset"')

    kept = inbound_mail_receive(raw=raw)

    assert kept.outcome == Outcome.REFUSED
    assert "x-no-such-charset" in kept.reason


def test_garbage_is_kept_with_a_reason(db):
    kept = inbound_mail_receive(raw=b"\x00\xff not a message \r\n\r\n\xfe")

    assert kept.outcome in (Outcome.UNMATCHED, Outcome.AUTOMATIC, Outcome.REFUSED)
    assert kept.pk is not None


def test_a_message_over_the_size_limit_is_refused_with_its_header_kept(answered):
    header = reply(answered).split(b"\n\n")[0] + b"\n\n"

    kept = inbound_mail_receive(raw=header, too_large=True, size=90 * 1024 * 1024)

    assert kept.outcome == Outcome.REFUSED
    assert "MB" in kept.reason
    assert kept.size == 90 * 1024 * 1024


# Staff's list of e-mails received ---------------------------------------------------------------

INBOUND_LIST = "/admin/tickets/inboundmail/"


def test_operators_see_what_needs_them_and_download_the_original(answered, operator_client):
    added = inbound_mail_receive(raw=reply(answered, "Funziona, grazie."))
    stranger = inbound_mail_receive(raw=reply(answered, "Chi sono?", sender="x@else.example.com"))

    page = operator_client.get(INBOUND_LIST, {"needs_staff": "yes"}).content.decode()

    assert "x@else.example.com" in page
    assert f'href="/admin/tickets/inboundmail/{added.pk}/change/' not in page
    original = operator_client.get(f"{INBOUND_LIST}{stranger.pk}/original/")
    assert original.status_code == 200
    assert original["Content-Type"] == "message/rfc822"
    assert b"Chi sono?" in b"".join(original.streaming_content)


def test_customers_cannot_read_the_mailbox(answered, client):
    kept = inbound_mail_receive(raw=reply(answered))
    client.force_login(answered.customer.user)

    assert client.get(f"{INBOUND_LIST}{kept.pk}/original/").status_code == 302  # to the login
    assert client.get(INBOUND_LIST).status_code == 302


def test_the_list_costs_the_same_queries_with_30_rows_as_with_1(
    answered, operator_client, django_assert_num_queries
):
    inbound_mail_receive(raw=reply(answered))
    operator_client.get(INBOUND_LIST)
    with CaptureQueriesContext(connection) as one:
        operator_client.get(INBOUND_LIST)
    for number in range(29):
        inbound_mail_receive(raw=reply(answered, f"Messaggio {number}"))
    with django_assert_num_queries(len(one.captured_queries)):
        page = operator_client.get(INBOUND_LIST).content.decode()
    assert page.count('class="field-sender"') == 30


# Automatic answers ------------------------------------------------------------------------------


def answers_to(address):
    return [m for m in outbox.outbox if m.to == [address]]


def closed_until_monday(monkeypatch):
    return pin_service_status(
        monkeypatch,
        gate.ServiceStatus(
            state=gate.ServiceState.CLOSURE,
            reason="Closed for the summer.",
            next_opening=gate.timezone.now().replace(microsecond=0) + timedelta(days=3),
            at=gate.timezone.now(),
        ),
    )


def test_a_stranger_gets_one_polite_answer_a_day(answered, on_commit):
    outbox.outbox.clear()
    stranger = "someone@else.example.com"

    with on_commit():
        first = inbound_mail_receive(raw=reply(answered, "Aiuto!", sender=stranger))
    with on_commit():
        inbound_mail_receive(raw=reply(answered, "Aiuto di nuovo!", sender=stranger))

    [answer] = answers_to(stranger)
    assert answer.extra_headers["Auto-Submitted"] == "auto-replied"
    assert answer.extra_headers["In-Reply-To"] == first.message_id
    assert "/tickets/" not in answer.body.replace("http://127.0.0.1:8000/", "")  # no ticket named
    assert f"#{answered.number}" not in answer.body
    first.refresh_from_db()
    assert first.answer == InboundMail.Answer.SENT


def test_automatic_mail_is_never_answered(answered, on_commit):
    outbox.outbox.clear()

    with on_commit():
        inbound_mail_receive(
            raw=reply(answered, sender="bot@else.example.com", headers={"Precedence": "junk"})
        )

    assert not answers_to("bot@else.example.com")


def test_while_closed_the_customer_gets_the_reason_the_opening_and_their_text(
    answered, on_commit, monkeypatch
):
    customer = answered.customer
    customer.language = "en"
    customer.save()
    status = closed_until_monday(monkeypatch)
    outbox.outbox.clear()

    with on_commit():
        inbound_mail_receive(raw=reply(answered, "The pump still leaks.\nSecond line."))

    [answer] = answers_to(customer.email)
    assert "Closed for the summer." in answer.body
    opening = datetime_short(in_service_zone(status.next_opening))
    assert f"opens again on {opening}:" in answer.body
    assert "> The pump still leaks.\n> Second line." in answer.body
    assert f"/tickets/{answered.number}/" in answer.body


def test_a_suspended_customer_is_told_the_reason_in_their_language(answered, on_commit):
    customer = answered.customer
    customer.language = "it"
    customer.is_suspended = True
    customer.suspension_reason = "Fattura 2026/118 non pagata"
    customer.save()
    outbox.outbox.clear()

    with on_commit():
        inbound_mail_receive(raw=reply(answered))

    [answer] = answers_to(customer.email)
    assert "Fattura 2026/118 non pagata" in answer.body
    assert "Ciao" in answer.body or "Buongiorno" in answer.body


def test_the_files_refused_from_an_added_reply_are_listed_back(answered, on_commit):
    outbox.outbox.clear()

    with on_commit():
        kept = inbound_mail_receive(
            raw=reply(answered, files=[("tool.exe", b"MZ...", "application/octet-stream")])
        )

    assert kept.outcome == Outcome.ADDED
    [answer] = answers_to(answered.customer.email)
    assert "tool.exe" in answer.body


def test_a_sender_who_keeps_writing_gets_three_answers_an_hour(answered, on_commit, monkeypatch):
    closed_until_monday(monkeypatch)
    outbox.outbox.clear()

    for number in range(5):
        with on_commit():
            inbound_mail_receive(raw=reply(answered, f"Messaggio {number}"))

    assert len(answers_to(answered.customer.email)) == 3
    assert InboundMail.objects.filter(outcome=Outcome.SERVICE_CLOSED).count() == 5  # all kept


def test_an_answer_is_sent_once_however_often_its_task_runs(answered, on_commit):
    from tickets.inbound.answers import inbound_answer_send

    with on_commit():
        kept = inbound_mail_receive(raw=reply(answered, sender="x@else.example.com"))
    outbox.outbox.clear()

    assert inbound_answer_send(kept.pk) is False
    assert not outbox.outbox


@pytest.mark.parametrize(
    ("results", "outcome"),
    [
        ("mx.example.com; dmarc=fail (p=reject) header.from=example.com", Outcome.UNAUTHENTICATED),
        ("mx.example.com; spf=fail smtp.mailfrom=example.com; dkim=none", Outcome.UNAUTHENTICATED),
        ("mx.example.com; spf=fail smtp.mailfrom=example.com; dkim=pass", Outcome.ADDED),
        ("mx.example.com; dmarc=pass; spf=pass; dkim=pass", Outcome.ADDED),
    ],
    ids=["dmarc fails", "spf fails, no dkim", "spf fails, dkim passes", "all pass"],
)
def test_a_sender_our_server_found_forged_is_neither_added_nor_answered(
    answered, on_commit, results, outcome
):
    outbox.outbox.clear()

    with on_commit():
        kept = inbound_mail_receive(
            raw=reply(answered, headers={"Authentication-Results": results})
        )

    assert kept.outcome == outcome
    if outcome == Outcome.UNAUTHENTICATED:
        assert kept.event is None
        assert not answers_to(answered.customer.email)


def test_only_our_own_server_s_authentication_results_count(answered):
    """A forged 'pass' below the topmost header (added by the sender) changes nothing."""
    raw = reply(answered).replace(
        b"From:",
        b"Authentication-Results: mx.portal.example; dmarc=fail\r\n"
        b"Authentication-Results: evil.example; dmarc=pass\r\nFrom:",
        1,
    )

    assert inbound_mail_receive(raw=raw).outcome == Outcome.UNAUTHENTICATED


def test_quoted_lines_without_their_wrote_line_are_cut_too(answered):
    message = EmailMessage()
    message["From"] = answered.customer.email
    message["To"] = "support@example.com"
    message["Subject"] = "Re: Ticket"
    message["In-Reply-To"] = portal_message_id(answered)
    message.set_content("Still failing.\n> Second line:\nnot quoted.\n\n> Try this.\n>\n> Bye\n")

    kept = inbound_mail_receive(raw=message.as_bytes())

    assert kept.event.body == "Still failing.\n> Second line:\nnot quoted."
