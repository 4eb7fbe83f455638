import io
import os
import smtplib
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from kombu.exceptions import OperationalError

from notifications import delivery
from notifications.delivery import TemporarySendError, notification_send
from notifications.models import Notification
from notifications.services import notifications_resend
from notifications.tasks import notifications_sweep
from tests.conftest import ticket_submit
from tests.notifications.factories import NotificationFactory
from tickets import services as tickets_services
from tickets.models import Ticket, TicketEvent
from tickets.remote.services import remote_access_request, remote_access_submit

pytestmark = pytest.mark.django_db

BASE = "https://support.example.test"


@pytest.fixture(autouse=True)
def _portal_url(settings):
    settings.PORTAL_BASE_URL = BASE


@pytest.fixture
def submitted_ticket(customer, unit, terms, service_open, on_commit):
    """A ticket submitted through the service, its receipt sent and cleared from the outbox."""
    with on_commit():
        ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    mail.outbox.clear()
    return ticket


@pytest.fixture
def taken(submitted_ticket, operator, on_commit):
    with on_commit():
        tickets_services.ticket_take(ticket=submitted_ticket, operator=operator)
    mail.outbox.clear()
    submitted_ticket.refresh_from_db()
    return submitted_ticket


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


# What each update sends -------------------------------------------------------------------------


def test_submission_sends_the_receipt_with_the_number(
    customer, unit, terms, service_open, on_commit
):
    with on_commit():
        ticket = ticket_submit(customer=customer, unit=unit, terms=terms, subject="Write fails")

    [message] = mail.outbox
    assert message.to == [customer.user.email]
    assert f"#{ticket.number}" in message.subject
    assert "received" in message.subject
    assert f"#{ticket.number}" in message.body
    assert "Write fails" in message.body
    assert f"#{ticket.number}" in html_of(message)
    notification = Notification.objects.get()
    assert notification.status == Notification.Status.SENT
    assert notification.sent_at is not None
    assert notification.attempts == 1
    assert notification.recipient_kind == Notification.RecipientKind.CUSTOMER


def test_taking_in_charge_tells_the_customer(submitted_ticket, operator, on_commit):
    with on_commit():
        tickets_services.ticket_take(ticket=submitted_ticket, operator=operator)

    [message] = mail.outbox
    assert message.to == [submitted_ticket.customer.user.email]
    assert "taken in charge" in message.subject
    assert "taken your request in charge" in message.body


def test_reply_that_changes_the_status_sends_one_message_saying_both(taken, operator, on_commit):
    with on_commit():
        tickets_services.ticket_reply_staff(
            ticket=taken, operator=operator, body="Update the firmware to 3.300, then retry."
        )

    [message] = mail.outbox
    assert message.to == [taken.customer.user.email]
    assert "replied" in message.subject
    assert "Update the firmware to 3.300, then retry." in message.body
    assert "from “Taken in charge” to “Answered”" in message.body
    assert "Update the firmware to 3.300, then retry." in html_of(message)
    notification = Notification.objects.get(event__kind=TicketEvent.Kind.MESSAGE)
    assert sorted(notification.events.values_list("kind", flat=True)) == ["message", "status"]


def test_reply_on_an_unassigned_ticket_tells_the_take_then_the_reply(
    submitted_ticket, operator, on_commit
):
    # ticket_reply_staff takes the ticket in its own transaction first: two updates.
    with on_commit():
        tickets_services.ticket_reply_staff(
            ticket=submitted_ticket, operator=operator, body="Hello."
        )

    assert ["taken in charge" in m.subject for m in mail.outbox] == [True, False]
    assert "Hello." in mail.outbox[1].body


def test_internal_note_sends_nothing(taken, operator, on_commit):
    with on_commit():
        tickets_services.ticket_reply_staff(
            ticket=taken, operator=operator, body="Customer sounds confused.", is_public=False
        )

    assert mail.outbox == []
    assert not Notification.objects.filter(event__kind=TicketEvent.Kind.NOTE).exists()


def test_status_change_tells_the_customer(taken, operator, on_commit):
    with on_commit():
        tickets_services.ticket_status_change(
            ticket=taken, operator=operator, status=Ticket.Status.WAITING_CUSTOMER
        )

    [message] = mail.outbox
    assert "status" in message.subject
    assert "from “Taken in charge” to “Waiting for the customer”" in message.body


def test_duplicate_marking_links_the_surviving_ticket(
    customer, unit, terms, taken, operator, on_commit
):
    with on_commit():
        original = ticket_submit(customer=customer, unit=unit, terms=terms)
    mail.outbox.clear()

    with on_commit():
        tickets_services.ticket_mark_duplicate(ticket=taken, original=original, operator=operator)

    [message] = mail.outbox
    assert f"#{taken.number}" in message.subject
    assert "duplicate" in message.subject
    assert f"duplicate of ticket #{original.number}" in message.body
    assert f"{BASE}/tickets/{original.number}/" in message.body


def test_closing_by_the_operator_tells_the_customer(taken, operator, on_commit):
    with on_commit():
        tickets_services.ticket_close(ticket=taken, user=operator, body="Solved by the update.")

    [message] = mail.outbox
    assert message.to == [taken.customer.user.email]
    assert "closed" in message.subject
    assert "Solved by the update." in message.body


def test_closing_by_the_customer_tells_the_operator_only(taken, operator, on_commit):
    with on_commit():
        tickets_services.ticket_close_by_customer(ticket=taken, customer=taken.customer)

    [message] = mail.outbox
    assert message.to == [operator.email]
    assert "closed" in message.subject


def test_customer_reply_tells_the_operator_once(taken, operator, on_commit):
    with on_commit():
        tickets_services.ticket_reply_staff(ticket=taken, operator=operator, body="Try this.")
    mail.outbox.clear()

    with on_commit():
        tickets_services.ticket_reply_customer(
            ticket=taken, customer=taken.customer, body="It did not help."
        )

    [message] = mail.outbox
    assert message.to == [operator.email]
    assert f"#{taken.number}" in message.subject
    assert taken.customer.code in message.subject
    assert "It did not help." in message.body
    assert "The ticket has been reopened." in message.body
    assert f"/admin/tickets/ticket/{taken.pk}/change/" in message.body


def test_customer_reply_on_an_unassigned_ticket_sends_nothing(submitted_ticket, on_commit):
    with on_commit():
        tickets_services.ticket_reply_customer(
            ticket=submitted_ticket, customer=submitted_ticket.customer, body="Any news?"
        )

    assert mail.outbox == []


def test_remote_access_request_tells_the_customer_and_the_password_goes_nowhere(
    taken, operator, on_commit
):
    password = "Zq7#kP2m"  # what TeamViewer shows the customer
    with on_commit():
        remote_access = remote_access_request(
            ticket=taken, operator=operator, message="Please start TeamViewer at 15:00."
        )

    [message] = mail.outbox
    assert message.to == [taken.customer.user.email]
    assert "remote session" in message.subject
    assert "Please start TeamViewer at 15:00." in message.body
    assert "Never send the password by e-mail." in message.body
    mail.outbox.clear()

    with on_commit():
        remote_access_submit(
            remote_access=remote_access,
            customer=taken.customer,
            teamviewer_id="123 456 789",
            password=password,
            authorisation_confirmed=True,
            backup_confirmed=True,
        )
    with on_commit():
        tickets_services.ticket_reply_staff(ticket=taken, operator=operator, body="Connected.")
        tickets_services.ticket_close(ticket=taken, user=operator, body="Solved remotely.")

    # The customer's submission is internal: nobody is e-mailed about it.
    assert not Notification.objects.filter(event__kind=TicketEvent.Kind.REMOTE_SUBMITTED).exists()
    assert [m.to for m in mail.outbox] == [[taken.customer.user.email]] * 2
    for message in mail.outbox:
        for text in (message.subject, message.body, html_of(message), str(message.message())):
            assert password not in text
            assert "123456789" not in text


# Form of every message --------------------------------------------------------------------------


def test_messages_are_in_the_ticket_language(customer, unit, terms, service_open, on_commit):
    with on_commit():
        ticket = ticket_submit(customer=customer, unit=unit, terms=terms, language="it")

    [message] = mail.outbox
    assert Notification.objects.get().language == "it"
    assert '<html lang="it">' in html_of(message)
    # Whatever the Italian catalogue says today, the subject is the one it gives.
    with translation.override("it"):
        expected = gettext("Ticket #%(number)s: we have received your request") % {
            "number": ticket.number
        }
    assert message.subject == expected


def test_message_links_to_the_ticket_and_has_stable_headers(submitted_ticket, operator, on_commit):
    with on_commit():
        tickets_services.ticket_take(ticket=submitted_ticket, operator=operator)

    [message] = mail.outbox
    link = f"{BASE}/tickets/{submitted_ticket.number}/"
    assert link in message.body
    assert f'href="{link}"' in html_of(message)
    notification = Notification.objects.get(event__kind=TicketEvent.Kind.ASSIGNED)
    assert message.extra_headers["Message-ID"].startswith(f"<notification.{notification.pk}.")
    assert message.extra_headers["X-Ticket-Number"] == str(submitted_ticket.number)


def test_no_secret_appears_in_any_message(settings, taken, operator, on_commit):
    user = taken.customer.user
    token = default_token_generator.make_token(user)
    with on_commit():
        tickets_services.ticket_reply_staff(ticket=taken, operator=operator, body="Reply.")
        tickets_services.ticket_reply_staff(
            ticket=taken, operator=operator, body="Remote password is hunter2", is_public=False
        )
        tickets_services.ticket_close(ticket=taken, user=operator)

    assert len(mail.outbox) == 2
    for message in mail.outbox:
        for text in (message.subject, message.body, html_of(message), str(message.message())):
            assert "hunter2" not in text
            assert token not in text
            assert user.password not in text
            assert settings.SECRET_KEY not in text


# Reliability ----------------------------------------------------------------------------------


def test_the_row_is_written_with_the_update_and_handed_over_only_after_commit(
    submitted_ticket, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tickets_services.ticket_take(ticket=submitted_ticket, operator=operator)

    notification = Notification.objects.get(event__kind=TicketEvent.Kind.ASSIGNED)
    assert notification.status == Notification.Status.PENDING
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


def test_rolled_back_update_leaves_no_notification(submitted_ticket, operator, on_commit):
    def take_then_fail():
        with transaction.atomic():
            tickets_services.ticket_take(ticket=submitted_ticket, operator=operator)
            raise RuntimeError

    with on_commit(), pytest.raises(RuntimeError):
        take_then_fail()

    assert mail.outbox == []
    assert not Notification.objects.filter(event__kind=TicketEvent.Kind.ASSIGNED).exists()


def test_broker_down_keeps_the_update_and_the_sweeper_sends_it_once(
    monkeypatch, submitted_ticket, operator, on_commit, caplog
):
    from notifications.tasks import notification_send_task

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(notification_send_task, "apply_async", down)
        with on_commit():
            tickets_services.ticket_take(ticket=submitted_ticket, operator=operator)

    submitted_ticket.refresh_from_db()
    assert submitted_ticket.status == Ticket.Status.TAKEN
    notification = Notification.objects.get(event__kind=TicketEvent.Kind.ASSIGNED)
    assert notification.status == Notification.Status.PENDING
    assert mail.outbox == []
    assert "the sweeper will retry" in caplog.text

    # Nobody was given the row: the very next sweep hands it over, once.
    assert notification.leased_until <= timezone.now()
    assert notifications_sweep() == 1
    assert notifications_sweep() == 0

    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


def test_sending_twice_sends_once():
    notification = NotificationFactory()

    notification_send(notification_id=notification.pk)
    notification_send(notification_id=notification.pk)

    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1


def test_sending_a_deleted_notification_does_nothing():
    assert notification_send(notification_id=987654) is None
    assert mail.outbox == []


class RefusingConnection:
    """An SMTP connection that raises the given error on send."""

    def __init__(self, error):
        self.error = error

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPDataError(451, b"4.3.0 Try again later"),
        smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"4.2.0 Mailbox busy")}),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_temporary_smtp_error_keeps_the_row_pending_with_back_off(settings, monkeypatch, error):
    settings.NOTIFICATIONS_RETRY_BACKOFF = 10
    notification = NotificationFactory()
    monkeypatch.setattr(delivery, "get_connection", lambda **kw: RefusingConnection(error))

    with pytest.raises(TemporarySendError) as first:
        notification_send(notification_id=notification.pk)
    with pytest.raises(TemporarySendError) as second:
        notification_send(notification_id=notification.pk)

    assert (first.value.countdown, second.value.countdown) == (10, 20)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 2
    assert notification.last_error
    assert notification.next_attempt_at > timezone.now()


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPDataError(554, b"5.7.1 Rejected"),
        smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"5.1.1 No such user")}),
    ],
)
def test_permanent_smtp_error_marks_the_row_failed(monkeypatch, error):
    notification = NotificationFactory()
    monkeypatch.setattr(delivery, "get_connection", lambda **kw: RefusingConnection(error))

    notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == 1
    assert "5" in notification.last_error
    assert notifications_sweep(grace=timedelta(0)) == 0


def test_temporary_errors_give_up_after_the_last_attempt(settings, monkeypatch):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    notification = NotificationFactory()
    error = smtplib.SMTPDataError(421, b"4.4.2 Timeout")
    monkeypatch.setattr(delivery, "get_connection", lambda **kw: RefusingConnection(error))

    with pytest.raises(TemporarySendError):
        notification_send(notification_id=notification.pk)
    notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == 2


def test_back_off_stays_below_the_cap(settings):
    settings.NOTIFICATIONS_RETRY_BACKOFF = 30
    settings.NOTIFICATIONS_RETRY_BACKOFF_MAX = 900

    delays = [delivery._backoff(attempts=n) for n in range(1, 10)]

    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 900


def test_resend_sends_a_failed_notification_again(on_commit):
    notification = NotificationFactory(status=Notification.Status.FAILED, attempts=1)

    with on_commit():
        assert notifications_resend(notifications=[notification]) == 1

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2
    assert len(mail.outbox) == 1


def test_embedded_default_keeps_a_temporary_failure_pending_for_the_sweep_command(
    settings, monkeypatch, submitted_ticket, operator, on_commit
):
    settings.NOTIFICATIONS_RETRY_BACKOFF = 0
    # Eager Celery (no Redis): the same task runs inline; a 4xx leaves the row pending.
    error = smtplib.SMTPDataError(451, b"4.3.0 Try again later")
    with monkeypatch.context() as patch:
        patch.setattr(delivery, "get_connection", lambda **kw: RefusingConnection(error))
        with on_commit():
            tickets_services.ticket_take(ticket=submitted_ticket, operator=operator)

    submitted_ticket.refresh_from_db()
    assert submitted_ticket.status == Ticket.Status.TAKEN
    notification = Notification.objects.get(event__kind=TicketEvent.Kind.ASSIGNED)
    assert (notification.status, notification.attempts) == (Notification.Status.PENDING, 1)
    assert "451" in notification.last_error
    assert mail.outbox == []

    out = io.StringIO()
    call_command("notifications_sweep", "--grace=0", stdout=out)

    assert out.getvalue().strip() == "1 notifications enqueued again."
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.SENT, 2)
    assert len(mail.outbox) == 1


def test_a_message_that_cannot_be_rendered_fails_visibly(monkeypatch, caplog):
    notification = NotificationFactory()

    def broken(**kwargs):
        raise KeyError("number")

    monkeypatch.setattr(delivery, "message_build", broken)
    notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.last_error == "KeyError: 'number'"
    assert "Traceback" in caplog.text
    assert mail.outbox == []


def test_beat_runs_the_sweeper(settings):
    from config.celery_app import app

    [entry] = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "notifications.tasks.notifications_sweep_task"
    ]
    assert entry["schedule"] == settings.NOTIFICATIONS_SWEEP_INTERVAL
    assert entry["task"] in app.tasks


@pytest.mark.parametrize(
    ("redis_url", "eager", "broker"),
    [("", "True", "memory://"), ("redis://127.0.0.1:6399/0", "False", "redis://127.0.0.1:6399/0")],
)
def test_embedded_default_is_eager_and_redis_url_makes_it_real(settings, redis_url, eager, broker):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_", "DJANGO_"))
    }
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", REDIS_URL=redis_url)
    code = (
        "import django; django.setup(); from config.celery_app import app; "
        "print(app.conf.task_always_eager, app.conf.broker_url)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [eager, broker]
