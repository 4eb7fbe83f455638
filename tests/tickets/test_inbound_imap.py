"""The support mailbox read from a real IMAP server (Dovecot): replies in, marked read once kept.

Dovecot comes from Debian's packages (`make test` installs dovecot-imapd); each test starts its own
on a port of its own (tests/mailserver.py). Without it a laptop skips, naming what is missing; CI
(CI=true) fails instead.
"""

import io
import os
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.tickets.inbound_mail import reply
from tickets.inbound import mailbox
from tickets.models import InboundMail, InboundMailbox, TicketEvent

pytestmark = pytest.mark.django_db

Outcome = InboundMail.Outcome


def fetch(dovecot, **options) -> str:
    out = io.StringIO()
    call_command("inbound_mail_fetch", url=dovecot.url, stdout=out, **options)
    return out.getvalue()


def test_a_reply_in_the_mailbox_lands_in_its_ticket_and_is_marked_read(answered, dovecot):
    dovecot.append(reply(answered, "Risolto, grazie!"))

    printed = fetch(dovecot)

    assert "1 message(s) read: added 1." in printed
    kept = InboundMail.objects.get()
    assert kept.event.body == "Risolto, grazie!"
    assert [m.seen for m in dovecot.messages()] == [True]
    assert "0 message(s) read." in fetch(dovecot)  # nothing unread is left


def test_a_message_delivered_twice_is_added_once(answered, dovecot):
    raw = reply(answered)
    dovecot.append(raw)
    dovecot.append(raw)  # the same Message-ID, delivered again (a retry by the sender's server)

    fetch(dovecot)

    assert InboundMail.objects.count() == 1
    assert TicketEvent.objects.filter(ticket=answered, body__startswith="Grazie").count() == 1
    assert all(m.seen for m in dovecot.messages())


def test_every_message_gets_an_outcome_and_only_replies_reach_a_ticket(answered, dovecot):
    dovecot.append(reply(answered, "Una risposta."))
    dovecot.append(reply(answered, "Sono in ferie.", headers={"Auto-Submitted": "auto-replied"}))
    dovecot.append(reply(answered, "Chi sono?", sender="stranger@example.net"))
    dovecot.append(reply(answered, "Nuovo problema.", in_reply_to=False))

    printed = fetch(dovecot)

    assert "4 message(s) read: added 1, automatic 1, unmatched 1, wrong_sender 1." in printed
    assert TicketEvent.objects.filter(ticket=answered, body="Una risposta.").exists()
    assert all(m.seen for m in dovecot.messages())


def test_a_message_over_the_limit_is_not_downloaded(answered, dovecot, settings):
    settings.INBOUND_MAIL_MAX_SIZE = 2000
    photo = os.urandom(6000)
    dovecot.append(reply(answered, files=[("big.bin", photo, "application/octet-stream")]))

    fetch(dovecot)

    kept = InboundMail.objects.get()
    assert kept.outcome == Outcome.REFUSED
    assert kept.size > 6000
    original = kept.original.read()
    assert b"Subject: Re: Ticket" in original
    assert len(original) < 2000  # the header only


def test_a_message_is_marked_read_only_once_it_was_kept(answered, dovecot, monkeypatch):
    dovecot.append(reply(answered, "Primo."))
    dovecot.append(reply(answered, "Secondo."))
    receive = mailbox.inbound_mail_receive
    calls = []

    def fails_on_the_second(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker died here")
        return receive(**kwargs)

    monkeypatch.setattr(mailbox, "inbound_mail_receive", fails_on_the_second)

    with pytest.raises(RuntimeError):
        fetch(dovecot)

    assert [m.seen for m in dovecot.messages()] == [True, False]
    monkeypatch.setattr(mailbox, "inbound_mail_receive", receive)
    assert "1 message(s) read: added 1." in fetch(dovecot)
    assert InboundMail.objects.count() == 2


def test_a_wrong_password_is_a_clear_error_and_reads_nothing(answered, dovecot):
    dovecot.append(reply(answered))
    wrong = dovecot.url.replace(f":{dovecot.password}@", ":not-the-password@")

    with pytest.raises(CommandError, match=r"cannot read the mailbox.*(?i:auth|login)"):
        call_command("inbound_mail_fetch", url=wrong)

    assert not InboundMail.objects.exists()
    assert [m.seen for m in dovecot.messages()] == [False]


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("", "not set"),
        ("pop3://u:p@host/INBOX", "scheme"),
        ("imaps://host:993/INBOX", "user, a password"),
    ],
)
def test_a_mailbox_address_that_cannot_work_says_why(url, error, settings):
    settings.INBOUND_IMAP_URL = url

    with pytest.raises(CommandError, match=error):
        call_command("inbound_mail_fetch")


def test_an_unreachable_mailbox_backs_off_and_is_shown_to_staff(
    answered, dovecot, settings, operator_client
):
    settings.INBOUND_IMAP_URL = dovecot.url
    settings.INBOUND_IMAP_POLL_SECONDS = 60
    dovecot.stop()
    start = timezone.now()

    assert mailbox.inbound_mail_poll(now=start) is None
    state = InboundMailbox.objects.get()
    assert (state.failures, state.next_attempt_at) == (1, start + timedelta(seconds=60))
    assert mailbox.inbound_mail_poll(now=start + timedelta(seconds=30)) is None  # left alone
    assert InboundMailbox.objects.get().failures == 1
    assert mailbox.inbound_mail_poll(now=start + timedelta(seconds=61)) is None
    state = InboundMailbox.objects.get()
    assert (state.failures, state.next_attempt_at) == (2, start + timedelta(seconds=181))
    page = operator_client.get("/admin/tickets/inboundmail/").content.decode()
    assert "cannot be read since" in page
    assert "ConnectionRefusedError" in page

    dovecot.start()  # back, on a port of its own
    settings.INBOUND_IMAP_URL = dovecot.url
    dovecot.append(reply(answered, "Di nuovo qui."))
    outcomes = mailbox.inbound_mail_poll(now=start + timedelta(seconds=200))

    assert outcomes == {"added": 1}
    state = InboundMailbox.objects.get()
    assert (state.failures, state.last_error, state.next_attempt_at) == (0, "", None)
    assert (
        "cannot be read since"
        not in operator_client.get("/admin/tickets/inboundmail/").content.decode()
    )


def test_the_cron_command_says_it_is_backing_off_and_fails_when_its_own_reading_fails(
    dovecot, settings
):
    settings.INBOUND_IMAP_URL = dovecot.url
    dovecot.stop()

    with pytest.raises(CommandError, match="cannot read the mailbox"):
        call_command("inbound_mail_fetch")
    out = io.StringIO()
    call_command("inbound_mail_fetch", stdout=out)
    assert "Not read: backing off after 1 failure(s)" in out.getvalue()


def test_one_reading_at_a_time_and_a_dead_reader_s_lease_runs_out(answered, dovecot, settings):
    settings.INBOUND_IMAP_URL = dovecot.url
    dovecot.append(reply(answered))
    now = timezone.now()
    InboundMailbox.objects.create(pk=1, reading_until=now + timedelta(seconds=300))

    out = io.StringIO()
    call_command("inbound_mail_fetch", stdout=out)
    assert "another process is reading the mailbox" in out.getvalue()
    assert not InboundMail.objects.exists()

    # The reader holding it died: once its lease is past, the next reading goes ahead.
    assert mailbox.inbound_mail_poll(now=now + timedelta(seconds=301)) == {"added": 1}
    assert InboundMailbox.objects.get().reading_until is None
