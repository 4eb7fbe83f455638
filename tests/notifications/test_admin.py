"""The staff's e-mail log, through the admin over HTTP: what it shows, what it costs, resending;
and the e-mails of a ticket on the page operators answer it from."""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Notification
from tests.customers.factories import StaffFactory
from tests.notifications.factories import NotificationFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

LIST = reverse("admin:notifications_notification_changelist")


def row_count(response) -> int:
    return len(response.context["cl"].result_list)


def test_the_log_shows_ticket_recipient_status_attempts_and_last_error(manager_client):
    sent = NotificationFactory(
        status=Notification.Status.SENT, attempts=1, sent_at="2026-03-18T10:00:00+01:00"
    )
    failed = NotificationFactory(
        status=Notification.Status.FAILED,
        attempts=3,
        recipient="nobody@bounce.example",
        last_error="SMTPRecipientsRefused: 550 5.1.1 No such user here",
    )

    response = manager_client.get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    for notification in (sent, failed):
        assert f"#{notification.ticket.number}" in page
        assert notification.recipient in page
    assert "550 5.1.1 No such user here" in page
    assert [n.pk for n in response.context["cl"].result_list] == [failed.pk, sent.pk]
    assert [n.attempts for n in response.context["cl"].result_list] == [3, 1]


def test_permanent_failures_are_one_filter_away(manager_client):
    NotificationFactory(status=Notification.Status.SENT, sent_at="2026-03-18T10:00:00+01:00")
    failed = NotificationFactory(status=Notification.Status.FAILED, last_error="554 Rejected")

    response = manager_client.get(LIST, {"status__exact": "failed"})

    assert [n.pk for n in response.context["cl"].result_list] == [failed.pk]


@pytest.mark.parametrize(
    ("term", "expected"),
    [("number", ["target"]), ("#number", ["target"]), ("recipient", ["target"]), ("9", [])],
)
def test_search_by_exact_number_or_address(manager_client, term, expected):
    rows = {
        "target": NotificationFactory(recipient="Someone@Example.com"),
        "other": NotificationFactory(recipient="other@example.com"),
    }
    number = str(rows["target"].ticket.number)
    query = {"number": number, "#number": f"#{number}", "recipient": "someone@example.COM"}

    response = manager_client.get(LIST, {"q": query.get(term, term)})

    found = {n.pk for n in response.context["cl"].result_list}
    assert found == {rows[name].pk for name in expected}


def test_the_list_costs_the_same_queries_whatever_the_rows_and_never_counts_them(
    manager_client, django_assert_num_queries
):
    NotificationFactory.create_batch(2)
    manager_client.get(LIST)  # the first request of a process also reads the service calendar
    with django_assert_num_queries(5):
        assert row_count(manager_client.get(LIST)) == 2

    NotificationFactory.create_batch(60)
    with CaptureQueriesContext(connection) as queries:
        response = manager_client.get(LIST)
    assert len(queries) == 5
    assert row_count(response) == 50
    # Counting stops one row past the page: enough to offer a next page, never the whole table.
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts
    assert all("LIMIT 51" in sql for sql in counts)
    assert 'href="?p=2"' in response.content.decode()

    with django_assert_num_queries(5):
        assert row_count(manager_client.get(LIST, {"p": "2"})) == 12
    with django_assert_num_queries(5):
        manager_client.get(LIST, {"status__exact": "pending"})
    with django_assert_num_queries(5):
        manager_client.get(LIST, {"q": "nobody@example.com"})
    with django_assert_num_queries(6):  # the ticket first, then its rows
        manager_client.get(LIST, {"q": "123456"})


def test_the_detail_page_shows_the_whole_row(manager_client, django_assert_num_queries):
    notification = NotificationFactory(
        status=Notification.Status.FAILED, attempts=2, last_error="451 Try again later"
    )
    manager_client.get(LIST)  # the first request of a process also reads the service calendar

    with django_assert_num_queries(6):
        response = manager_client.get(
            reverse("admin:notifications_notification_change", args=[notification.pk])
        )

    assert response.status_code == 200
    page = response.content.decode()
    assert notification.recipient in page
    assert "451 Try again later" in page


def test_resend_action_sends_a_failed_notification_again(
    manager_client, django_capture_on_commit_callbacks
):
    failed = NotificationFactory(
        status=Notification.Status.FAILED, attempts=1, last_error="554 Rejected"
    )
    other = NotificationFactory(status=Notification.Status.FAILED, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            LIST,
            {"action": "resend", "_selected_action": [failed.pk], "index": 0},
            follow=True,
        )

    assert response.status_code == 200
    assert "1 notification will be sent again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == Notification.Status.SENT
    assert failed.attempts == 2
    assert failed.last_error == ""
    [message] = mail.outbox
    assert message.to == [failed.recipient]
    other.refresh_from_db()
    assert other.status == Notification.Status.FAILED


def test_staff_cannot_add_or_delete_rows(manager_client):
    notification = NotificationFactory()

    assert manager_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    delete = reverse("admin:notifications_notification_delete", args=[notification.pk])
    assert manager_client.post(delete, {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=notification.pk).exists()


# Operators -----------------------------------------------------------------------------------


def bounced(**kwargs) -> Notification:
    return NotificationFactory(
        status=Notification.Status.FAILED,
        attempts=1,
        recipient="nobody@bounce.example",
        last_error="SMTPRecipientsRefused: 550 5.1.1 No such user here",
        **kwargs,
    )


def test_operators_read_the_log_and_see_why_a_message_bounced(operator_client):
    failed = bounced()

    listing = operator_client.get(LIST)
    detail = operator_client.get(
        reverse("admin:notifications_notification_change", args=[failed.pk])
    )

    assert listing.status_code == detail.status_code == 200
    for page in (listing.content.decode(), detail.content.decode()):
        assert "nobody@bounce.example" in page
        assert "550 5.1.1 No such user here" in page
    # Read-only: no action to pick on the list, no save button on the row.
    assert 'name="action"' not in listing.content.decode()
    assert 'name="_save"' not in detail.content.decode()


def test_operators_cannot_resend_or_change_a_row(
    operator_client, django_capture_on_commit_callbacks
):
    failed = bounced()
    change = reverse("admin:notifications_notification_change", args=[failed.pk])

    with django_capture_on_commit_callbacks(execute=True):
        listed = operator_client.post(
            LIST, {"action": "resend", "_selected_action": [failed.pk], "index": 0}
        )
        changed = operator_client.post(change, {"status": "pending", "last_error": ""})

    assert listed.status_code == 200
    assert changed.status_code == 403
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Notification.Status.FAILED, 1)
    assert failed.last_error.startswith("SMTPRecipientsRefused")
    assert mail.outbox == []


def test_staff_who_cannot_see_tickets_cannot_see_their_emails(client):
    user = StaffFactory()
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="notifications", codename="view_notification"
        )
    )
    client.force_login(user)

    assert client.get(LIST).status_code == 403


# The ticket page ------------------------------------------------------------------------------


def ticket_page(ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def test_the_ticket_page_shows_each_email_with_its_status_and_error(operator_client):
    ticket = TicketFactory()
    sent = NotificationFactory(
        ticket=ticket,
        status=Notification.Status.SENT,
        attempts=1,
        sent_at="2026-03-18T10:00:00+01:00",
    )
    failed = bounced(ticket=ticket)
    NotificationFactory(recipient="someone-else@example.com")  # another ticket's

    response = operator_client.get(ticket_page(ticket))

    assert response.status_code == 200
    page = response.content.decode()
    section = page[page.index('class="ticket-emails"') :]
    assert section.count("<tr>") == 1 + 2  # the header and this ticket's two e-mails
    assert "someone-else@example.com" not in section
    assert ticket.customer.user.email in section
    assert "nobody@bounce.example" in section
    assert "550 5.1.1 No such user here" in section
    assert "Sent" in section
    assert "Failed" in section
    for row in (sent, failed):
        assert reverse("admin:notifications_notification_change", args=[row.pk]) in section
    log = reverse("admin:notifications_notification_changelist") + f"?q={ticket.number}"
    assert log in section
    # The link leads to exactly this ticket's e-mails.
    found = operator_client.get(log).context["cl"].result_list
    assert {n.pk for n in found} == {sent.pk, failed.pk}


def test_the_ticket_page_costs_the_same_queries_with_one_email_or_many(
    operator_client, django_assert_num_queries
):
    ticket = TicketFactory()
    bounced(ticket=ticket)
    operator_client.get(
        ticket_page(ticket)
    )  # the first request of a process also reads the calendar

    with CaptureQueriesContext(connection) as one:
        operator_client.get(ticket_page(ticket))
    for n in range(30):
        NotificationFactory(ticket=ticket, recipient=f"copy{n}@example.com")
    with django_assert_num_queries(len(one)):
        page = operator_client.get(ticket_page(ticket)).content.decode()

    section = page[page.index('class="ticket-emails"') :]
    assert section.count("<tr>") == 1 + 20
    assert "Only the latest 20 are shown." in section


def test_the_ticket_page_without_emails_says_so(operator_client):
    ticket = TicketFactory()

    page = operator_client.get(ticket_page(ticket)).content.decode()

    assert "No e-mail has been sent about this ticket." in page


def test_staff_without_the_log_do_not_get_the_emails_section(client):
    user = StaffFactory()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="tickets", codename="view_ticket")
    )
    client.force_login(user)
    ticket = TicketFactory()
    bounced(ticket=ticket)

    response = client.get(ticket_page(ticket))

    assert response.status_code == 200
    assert "nobody@bounce.example" not in response.content.decode()
