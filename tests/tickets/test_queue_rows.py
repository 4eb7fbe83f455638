"""The queue's rows, written in one pass (tickets/templatetags/queue_rows.py), are Django's.

Every row of the page is compared with what the admin's own `items_for_result` writes for the
same ticket: links with the filters kept, empty cells, escaped subjects, old versions, closed
tickets, assigned and unassigned ones, in each language.
"""

from datetime import timedelta

import pytest
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_list import items_for_result
from django.urls import reverse
from django.utils import timezone

from tests.customers.factories import StaffFactory
from tests.products.factories import DatabankFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:tickets_ticket_changelist")


@pytest.fixture
def tickets(operator):
    now = timezone.now()
    colleague = StaffFactory(first_name="Anna", last_name="<Bianchi>")
    made = [
        TicketFactory(received_at=now - timedelta(days=400)),
        TicketFactory(subject='<b>Flash</b> & "boot" ' + "x" * 60, received_at=now),
        TicketFactory(software_version="1.0", software_outdated=True),
        TicketFactory(
            status=Ticket.Status.TAKEN, assigned_to=colleague, taken_at=now, serial_number=" "
        ),
        TicketFactory(
            status=Ticket.Status.CLOSED, assigned_to=operator, taken_at=now, closed_at=now
        ),
    ]
    databank = DatabankFactory()
    made.append(TicketFactory(unit=None, product=databank, serial_number=""))
    return made


def rows_of(page: str) -> list[str]:
    body = page[page.index("<tbody>") + len("<tbody>") : page.index("</tbody>")]
    return [row.split(">", 1)[1] for row in body.split("</tr>") if "<tr" in row]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "all"},
        {"status": "all", "q": "", "operator": "none"},
        {"status": "closed", "p": "1"},
    ],
)
@pytest.mark.parametrize("language", ["it", "en", "fr"])
def test_each_row_is_what_django_writes(operator_client, tickets, query, language, monkeypatch):
    calls = []
    with monkeypatch.context() as patch:
        # The page must not fall back on Django's rows, or the comparison would prove nothing.
        patch.setattr(admin_list, "items_for_result", lambda *args: calls.append(args) or [])
        response = operator_client.get(QUEUE, query, HTTP_ACCEPT_LANGUAGE=language)
    assert calls == []
    page = response.content.decode()
    changelist = response.context["cl"]

    expected = ["".join(items_for_result(changelist, t, None)) for t in changelist.result_list]

    assert expected
    assert rows_of(page) == expected


def test_the_link_keeps_the_queue_s_filters(operator_client, tickets):
    page = operator_client.get(QUEUE, {"status": "all"}).content.decode()
    ticket = tickets[0]
    change = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    assert f'<a href="{change}?_changelist_filters=status%3Dall">{ticket.number}</a>' in page
