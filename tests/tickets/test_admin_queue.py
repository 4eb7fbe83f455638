import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.admin_pagination import NoCountPaginator
from core.roles import OPERATORS
from schedule.models import ServiceHours
from tests.core.factories import staff_with_role
from tests.products.factories import ProductFactory
from tests.schedule.factories import ServiceHoursFactory
from tests.tickets.factories import TicketFactory
from tickets.desk.admin import TicketAdmin
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:tickets_ticket_changelist")
ROME = ZoneInfo("Europe/Rome")


def numbers(response) -> list[int]:
    return [ticket.number for ticket in response.context["cl"].result_list]


def ticket_at(minutes_ago: int, **kwargs) -> Ticket:
    return TicketFactory(received_at=timezone.now() - timedelta(minutes=minutes_ago), **kwargs)


def closed(ticket: Ticket) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.CLOSED, closed_at=timezone.now()
    )
    return ticket


def test_queue_lists_open_tickets_oldest_first(operator_client):
    newer = ticket_at(10)
    older = ticket_at(100)
    done = closed(ticket_at(1000))

    response = operator_client.get(QUEUE)

    assert response.status_code == 200
    assert numbers(response) == [older.number, newer.number]
    assert done.number not in numbers(response)
    page = response.content.decode()
    assert "Take next ticket" in page
    assert older.customer.code in page
    assert older.serial_number in page


@pytest.mark.parametrize(
    ("status", "expected"),
    [("closed", ["done"]), ("new", ["open"]), ("all", ["done", "open"])],
)
def test_queue_filters_closed_and_all(operator_client, status, expected):
    tickets = {"open": ticket_at(10), "done": closed(ticket_at(20))}

    response = operator_client.get(QUEUE, {"status": status})

    assert numbers(response) == [tickets[name].number for name in expected]


def test_queue_filters_mine_unassigned_operator_and_product(operator_client, operator):
    other = staff_with_role(OPERATORS, "anna")
    mine = ticket_at(30, status=Ticket.Status.TAKEN, assigned_to=operator)
    theirs = ticket_at(20, status=Ticket.Status.TAKEN, assigned_to=other)
    nobody = ticket_at(10)
    product = ProductFactory()
    on_product = ticket_at(5, unit__product=product)

    assert numbers(operator_client.get(QUEUE, {"operator": "mine"})) == [mine.number]
    assert numbers(operator_client.get(QUEUE, {"operator": "none"})) == [
        nobody.number,
        on_product.number,
    ]
    assert numbers(operator_client.get(QUEUE, {"operator": str(other.pk)})) == [theirs.number]
    assert numbers(operator_client.get(QUEUE, {"product__id__exact": product.pk})) == [
        on_product.number
    ]


@pytest.mark.parametrize("field", ["number", "code", "serial"])
def test_queue_search_finds_by_exact_number_code_or_serial(operator_client, field):
    wanted = ticket_at(10)
    ticket_at(20)
    term = {
        "number": f"#{wanted.number}",
        "code": wanted.customer.code.lower(),
        "serial": wanted.serial_number.lower(),
    }[field]

    assert numbers(operator_client.get(QUEUE, {"q": term})) == [wanted.number]


def test_queue_search_finds_closed_tickets_and_survives_odd_input(operator_client):
    done = closed(ticket_at(10))

    assert numbers(operator_client.get(QUEUE, {"q": str(done.number)})) == [done.number]
    # No exact match: the words go to the full-text search, which finds nothing either.
    for odd in ["abc", "12x", "9" * 40, "'; drop table", "-1"]:
        response = operator_client.get(QUEUE, {"q": odd})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:tickets_ticket_search"))
        searched = operator_client.get(response["Location"])
        assert searched.status_code == 200
        assert "No ticket matches this search." in searched.content.decode()


def waiting_column(response) -> list[str]:
    return re.findall(r'<td class="field-waiting">([^<]*)</td>', response.content.decode())


def test_queue_shows_waiting_time_in_the_service_hours_of_the_calendar(operator_client):
    # The managers' hours replace the initial ones: Monday to Friday, 09:00-18:00.
    ServiceHours.objects.all().delete()
    for weekday in range(5):
        ServiceHoursFactory(weekday=weekday, opens_at=time(9, 0), closes_at=time(18, 0))
    TicketFactory(received_at=datetime(2026, 10, 9, 17, 0, tzinfo=ROME))  # a Friday

    with time_machine.travel(datetime(2026, 10, 12, 10, 0, tzinfo=ROME), tick=False):  # Monday
        response = operator_client.get(QUEUE)

    # Friday 17:00-18:00 (1 h) + the weekend (0) + Monday 09:00-10:00 (1 h) = 2 h. The initial
    # hours (08:30-12:30, 14:00-18:00) would give 1 h + 1 h 30 min.
    assert waiting_column(response) == ["2 h 00 min"]


def test_queue_pages_without_counting_the_table(operator_client):
    for minutes in range(TicketAdmin.list_per_page + 5):
        ticket_at(1000 - minutes)

    with CaptureQueriesContext(connection) as first:
        response = operator_client.get(QUEUE)
    assert len(numbers(response)) == TicketAdmin.list_per_page
    assert response.context["cl"].paginator.has_next
    assert 'rel="next"' in response.content.decode()

    with CaptureQueriesContext(connection) as second:
        response = operator_client.get(QUEUE, {"p": 2})
    assert len(numbers(response)) == 5
    assert not response.context["cl"].paginator.has_next
    assert 'rel="prev"' in response.content.decode()

    counts = [
        query["sql"]
        for query in [*first.captured_queries, *second.captured_queries]
        if "COUNT(" in query["sql"].upper()
    ]
    assert counts, "the paginator looks one row ahead with a bounded COUNT"
    for sql in counts:
        assert re.search(r"\bLIMIT\b", sql, re.IGNORECASE), f"unbounded COUNT: {sql}"


def test_queue_runs_the_same_number_of_queries_for_1_or_50_tickets(operator_client):
    ticket_at(500)
    operator_client.get(QUEUE)  # warm the session, the permission and the calendar caches
    with CaptureQueriesContext(connection) as one:
        assert len(numbers(operator_client.get(QUEUE))) == 1

    for minutes in range(49):
        ticket_at(minutes, assigned_to=staff_with_role(OPERATORS, f"op{minutes}"), status="taken")
    with CaptureQueriesContext(connection) as fifty:
        assert len(numbers(operator_client.get(QUEUE))) == 50

    assert len(one.captured_queries) == len(fifty.captured_queries)
    assert len(fifty.captured_queries) <= 10


def test_paginator_count_is_bounded_by_the_next_row():
    paginator = NoCountPaginator(list(range(1000)), 50, page_number=3)
    assert paginator.count == 151
    assert paginator.has_next
    assert paginator.page(3).object_list == list(range(100, 150))


def test_queue_counts_waiting_time_in_service_hours_of_the_real_calendar(operator_client):
    # Service hours Mon-Fri 08:30-12:30 and 14:00-18:00; now is Monday 16 March 2026, 09:00.
    cache.clear()
    received = {
        "thursday noon": datetime(2026, 3, 12, 12, 0, tzinfo=ROME),  # 4 h 30 + 8 h + 30 min
        "friday 17:00": datetime(2026, 3, 13, 17, 0, tzinfo=ROME),  # 1 h + the weekend + 30 min
        "saturday": datetime(2026, 3, 14, 10, 0, tzinfo=ROME),  # only Monday's 30 min
        "monday 08:45": datetime(2026, 3, 16, 8, 45, tzinfo=ROME),  # 15 min
    }
    for at in received.values():
        TicketFactory(received_at=at)

    with time_machine.travel(datetime(2026, 3, 16, 9, 0, tzinfo=ROME), tick=False):
        response = operator_client.get(QUEUE)

    assert waiting_column(response) == ["13 h 00 min", "1 h 30 min", "0 h 30 min", "0 h 15 min"]


def test_queue_waits_of_tickets_years_old_match_the_walk_over_every_day(operator_client):
    from schedule.snapshot import calendar_current
    from tickets.desk.queue import waiting_annotate

    now = datetime(2026, 3, 16, 9, 0, tzinfo=ROME)
    tickets = [
        TicketFactory(received_at=now - timedelta(days=days, minutes=days % 97))
        for days in (1800, 1799, 900, 365, 40, 3, 0)
    ]
    done = closed(TicketFactory(received_at=now - timedelta(days=700)))
    tickets.append(Ticket.objects.get(pk=done.pk))

    waiting_annotate(tickets, at=now)

    walk = calendar_current()._service_time_walk
    assert [t.service_waiting for t in tickets[:-1]] == [
        walk(t.received_at, now) for t in tickets[:-1]
    ]
    assert not hasattr(tickets[-1], "service_waiting")
