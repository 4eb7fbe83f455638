"""E-mails about a ticket thread together; a reply address names its ticket, signed."""

from email import message_from_bytes

import pytest
from django.core import mail

from notifications.threading import reply_address, reply_address_ticket_number
from tests.conftest import ticket_submit
from tickets import services as tickets_services

pytestmark = pytest.mark.django_db

INBOUND = "support@example.com"


@pytest.fixture
def inbound(settings):
    settings.INBOUND_REPLY_ADDRESS = INBOUND
    settings.SECRET_KEY_FALLBACKS = []
    return settings


def conversation(customer, unit, terms, operator, on_commit, *, answer=""):
    """A ticket submitted, taken, perhaps answered, then replied to by its customer."""
    with on_commit():
        ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    with on_commit():
        tickets_services.ticket_take(ticket=ticket, operator=operator)
    ticket.refresh_from_db()
    if answer:
        with on_commit():
            tickets_services.ticket_reply_staff(ticket=ticket, operator=operator, body=answer)
    with on_commit():
        tickets_services.ticket_reply_customer(ticket=ticket, customer=customer, body="Done.")
    return ticket


def test_every_e_mail_about_a_ticket_answers_its_one_root(
    customer, unit, terms, service_open, operator, on_commit, settings
):
    settings.DEFAULT_FROM_EMAIL = "Support <help@portal.example.it>"
    ticket = conversation(customer, unit, terms, operator, on_commit, answer="Try this.")

    sent = [message_from_bytes(m.message().as_bytes()) for m in mail.outbox]
    assert len(sent) >= 4  # receipt, taken in charge, the answer, the operator told of the reply
    root = f"<ticket.{ticket.number}@portal.example.it>"
    assert {m["In-Reply-To"] for m in sent} == {root}
    assert {m["References"] for m in sent} == {root}
    ids = [m["Message-ID"] for m in sent]
    assert len(set(ids)) == len(ids)
    assert all(i.endswith("@portal.example.it>") and i != root for i in ids)


def test_the_e_mails_carry_no_reply_to_while_no_mailbox_reads_replies(
    customer, unit, terms, service_open, on_commit
):
    with on_commit():
        ticket_submit(customer=customer, unit=unit, terms=terms)

    [receipt] = mail.outbox
    assert "Reply-To" not in message_from_bytes(receipt.message().as_bytes())
    assert reply_address(number=1) is None


def test_a_reply_address_names_its_ticket(inbound):
    address = reply_address(number=100234)

    local, _, domain = address.partition("@")
    assert domain == "example.com"
    assert local.startswith("support+t100234-")
    assert reply_address_ticket_number(address) == 100234
    assert reply_address_ticket_number(f"Officina Rossi <{address.upper()}>") == 100234


def test_each_ticket_has_its_own_signature(inbound):
    first, second = reply_address(number=7), reply_address(number=8)

    assert first.split("-")[1] != second.split("-")[1]
    # Another ticket's signature under this ticket's number is refused.
    assert reply_address_ticket_number(first.replace("+t7-", "+t8-")) is None


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda a: "support+t100234@example.com", id="number alone"),
        pytest.param(lambda a: a.replace("@example.com", "@elsewhere.com"), id="other domain"),
        pytest.param(lambda a: a.replace("support+", "sales+"), id="other mailbox"),
        pytest.param(lambda a: a[:-14] + ("a" if a[-14] != "a" else "b") + a[-13:], id="one char"),
        pytest.param(lambda a: a.replace("@", "x@"), id="longer signature"),
        pytest.param(lambda a: "support@example.com", id="no tag"),
        pytest.param(lambda a: "not an address", id="garbage"),
        pytest.param(lambda a: "", id="empty"),
    ],
)
def test_a_forged_or_altered_address_names_no_ticket(inbound, forge):
    assert reply_address_ticket_number(forge(reply_address(number=100234))) is None


def test_addresses_survive_a_key_rotation_listed_in_the_fallbacks(inbound):
    address = reply_address(number=55)
    old_key = inbound.SECRET_KEY

    inbound.SECRET_KEY = "a-new-key-" + "x" * 50
    assert reply_address_ticket_number(address) is None
    inbound.SECRET_KEY_FALLBACKS = [old_key]
    assert reply_address_ticket_number(address) == 55


def test_no_address_is_valid_while_no_mailbox_is_configured(inbound):
    address = reply_address(number=9)
    inbound.INBOUND_REPLY_ADDRESS = ""

    assert reply_address_ticket_number(address) is None


def test_with_the_mailbox_read_the_customer_s_e_mail_says_reply_here(
    customer, unit, terms, service_open, operator, on_commit, inbound
):
    inbound.INBOUND_IMAP_URL = "imaps://support%40example.com:secret@imap.example.com/INBOX"
    inbound.DEFAULT_FROM_EMAIL = "Supporto tecnico <support@example.com>"
    ticket = conversation(customer, unit, terms, operator, on_commit)

    to_customer = [m for m in mail.outbox if customer.email in m.to[0]]
    to_operator = [m for m in mail.outbox if operator.email in m.to[0]]
    assert to_customer
    assert to_operator
    for message in to_customer:
        [reply_to] = message.reply_to
        assert reply_to.startswith("Supporto tecnico <support+t")
        assert reply_address_ticket_number(reply_to) == ticket.number
        assert "answer it by e-mail" in message.body
    assert all(not m.reply_to for m in to_operator)


@pytest.mark.parametrize(
    ("reply", "url", "error"),
    [
        ("support@example.com", "", "notifications.E002"),
        ("support+x@example.com", "imap://u:p@h/INBOX", "notifications.E003"),
    ],
)
def test_a_reply_address_that_would_lose_replies_stops_the_start(settings, reply, url, error):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.INBOUND_REPLY_ADDRESS = reply
    settings.INBOUND_IMAP_URL = url

    with pytest.raises(SystemCheckError, match=error):
        call_command("check")
