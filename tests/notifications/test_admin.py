"""The staff's e-mail log, through the admin over HTTP: what it shows, what it costs, resending."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import MANAGERS, roles_sync
from notifications.models import Notification
from tests.customers.factories import StaffFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db

LIST = reverse("admin:notifications_notification_changelist")


@pytest.fixture
def manager(client):
    roles_sync()
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=MANAGERS))
    client.force_login(user)
    return user


def row_count(response) -> int:
    return len(response.context["cl"].result_list)


def test_the_log_shows_ticket_recipient_status_attempts_and_last_error(client, manager):
    sent = NotificationFactory(
        status=Notification.Status.SENT, attempts=1, sent_at="2026-03-18T10:00:00+01:00"
    )
    failed = NotificationFactory(
        status=Notification.Status.FAILED,
        attempts=3,
        recipient="nobody@bounce.example",
        last_error="SMTPRecipientsRefused: 550 5.1.1 No such user here",
    )

    response = client.get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    for notification in (sent, failed):
        assert f"#{notification.ticket.number}" in page
        assert notification.recipient in page
    assert "550 5.1.1 No such user here" in page
    assert [n.pk for n in response.context["cl"].result_list] == [failed.pk, sent.pk]
    assert [n.attempts for n in response.context["cl"].result_list] == [3, 1]


def test_permanent_failures_are_one_filter_away(client, manager):
    NotificationFactory(status=Notification.Status.SENT, sent_at="2026-03-18T10:00:00+01:00")
    failed = NotificationFactory(status=Notification.Status.FAILED, last_error="554 Rejected")

    response = client.get(LIST, {"status__exact": "failed"})

    assert [n.pk for n in response.context["cl"].result_list] == [failed.pk]


@pytest.mark.parametrize(
    ("term", "expected"),
    [("number", ["target"]), ("#number", ["target"]), ("recipient", ["target"]), ("9", [])],
)
def test_search_by_exact_number_or_address(client, manager, term, expected):
    rows = {
        "target": NotificationFactory(recipient="Someone@Example.com"),
        "other": NotificationFactory(recipient="other@example.com"),
    }
    number = str(rows["target"].ticket.number)
    query = {"number": number, "#number": f"#{number}", "recipient": "someone@example.COM"}

    response = client.get(LIST, {"q": query.get(term, term)})

    found = {n.pk for n in response.context["cl"].result_list}
    assert found == {rows[name].pk for name in expected}


def test_the_list_costs_the_same_queries_whatever_the_rows_and_never_counts_them(
    client, manager, django_assert_num_queries
):
    NotificationFactory.create_batch(2)
    client.get(LIST)  # the first request of a process also reads the service calendar
    with django_assert_num_queries(7):
        assert row_count(client.get(LIST)) == 2

    NotificationFactory.create_batch(60)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    assert len(queries) == 7
    assert row_count(response) == 50
    # Counting stops one row past the page: enough to offer a next page, never the whole table.
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts
    assert all("LIMIT 51" in sql for sql in counts)
    assert 'href="?p=2"' in response.content.decode()

    with django_assert_num_queries(7):
        assert row_count(client.get(LIST, {"p": "2"})) == 12
    with django_assert_num_queries(7):
        client.get(LIST, {"status__exact": "pending"})
    with django_assert_num_queries(7):
        client.get(LIST, {"q": "nobody@example.com"})
    with django_assert_num_queries(8):  # the ticket first, then its rows
        client.get(LIST, {"q": "123456"})


def test_the_detail_page_shows_the_whole_row(client, manager, django_assert_num_queries):
    notification = NotificationFactory(
        status=Notification.Status.FAILED, attempts=2, last_error="451 Try again later"
    )
    client.get(LIST)  # the first request of a process also reads the service calendar

    with django_assert_num_queries(8):
        response = client.get(
            reverse("admin:notifications_notification_change", args=[notification.pk])
        )

    assert response.status_code == 200
    page = response.content.decode()
    assert notification.recipient in page
    assert "451 Try again later" in page


def test_resend_action_sends_a_failed_notification_again(
    client, manager, django_capture_on_commit_callbacks
):
    failed = NotificationFactory(
        status=Notification.Status.FAILED, attempts=1, last_error="554 Rejected"
    )
    other = NotificationFactory(status=Notification.Status.FAILED, attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
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


def test_staff_cannot_add_or_delete_rows(client, manager):
    notification = NotificationFactory()

    assert client.get(reverse("admin:notifications_notification_add")).status_code == 403
    delete = reverse("admin:notifications_notification_delete", args=[notification.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=notification.pk).exists()


def test_operators_do_not_see_the_log(client):
    roles_sync()
    operator = StaffFactory()
    operator.groups.add(Group.objects.get(name="Operators"))
    client.force_login(operator)

    assert client.get(LIST).status_code == 403
