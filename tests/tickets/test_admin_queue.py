import re
from datetime import datetime, timedelta
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
from tests.core.factories import staff_with_role
from tests.products.factories import ProductFactory
from tests.tickets.factories import TicketFactory
from tickets.desk.admin import TicketAdmin
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:tickets_ticket_changelist")


@pytest.fixture
def operator(db):
    return staff_with_role(OPERATORS, "luca")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


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


def test_queue_filters_closed_and_all(operator_client):
    open_ticket = ticket_at(10)
    done = closed(ticket_at(20))

    assert numbers(operator_client.get(QUEUE, {"status": "closed"})) == [done.number]
    assert numbers(operator_client.get(QUEUE, {"status": "new"})) == [open_ticket.number]
    assert numbers(operator_client.get(QUEUE, {"status": "all"})) == [
        done.number,
        open_ticket.number,
    ]


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
    for odd in ["abc", "12x", "9" * 40, "'; drop table", "-1"]:
        response = operator_client.get(QUEUE, {"q": odd})
        assert response.status_code == 200
        assert numbers(response) == []


def test_queue_shows_waiting_time_in_service_hours(operator_client, monkeypatch):
    calls = []

    def fake_service_time(*, start, end):
        calls.append((start, end))
        return timedelta(hours=3, minutes=7)

    monkeypatch.setattr("tickets.desk.queue.service_time_between", fake_service_time)
    ticket = ticket_at(60 * 24 * 3)

    response = operator_client.get(QUEUE)

    assert "3 h 07 min" in response.content.decode()
    assert calls[0][0] == ticket.received_at
    assert calls[0][1] - timezone.now() < timedelta(minutes=1)


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
    rome = ZoneInfo("Europe/Rome")
    received = {
        "thursday noon": datetime(2026, 3, 12, 12, 0, tzinfo=rome),  # 4 h 30 + 8 h + 30 min
        "friday 17:00": datetime(2026, 3, 13, 17, 0, tzinfo=rome),  # 1 h + the weekend + 30 min
        "saturday": datetime(2026, 3, 14, 10, 0, tzinfo=rome),  # only Monday's 30 min
        "monday 08:45": datetime(2026, 3, 16, 8, 45, tzinfo=rome),  # 15 min
    }
    for at in received.values():
        TicketFactory(received_at=at)

    with time_machine.travel(datetime(2026, 3, 16, 9, 0, tzinfo=rome), tick=False):
        response = operator_client.get(QUEUE)

    rows = re.findall(r'<td class="field-waiting">([^<]*)</td>', response.content.decode())
    assert rows == ["13 h 00 min", "1 h 30 min", "0 h 30 min", "0 h 15 min"]
