"""Every ticket service given `at=` records its events, and the times it sets, at that instant."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.customers.factories import StaffFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket, TicketEvent
from tickets.remote.services import remote_access_request
from tickets.services import (
    ticket_close,
    ticket_close_by_customer,
    ticket_mark_duplicate,
    ticket_reply_customer,
    ticket_reply_staff,
    ticket_status_change,
    ticket_take,
    ticket_take_next,
)

pytestmark = pytest.mark.django_db

# A Monday morning inside the default service hours, years before the test runs: an event stamped
# "now" instead could never equal it.
AT = datetime(2025, 11, 24, 10, 15, tzinfo=ZoneInfo("Europe/Rome"))


def taken(ticket, operator):
    return ticket_take(ticket=ticket, operator=operator)


def answered(ticket, operator):
    ticket_reply_staff(ticket=ticket, operator=operator, body="Try this.")
    return Ticket.objects.get(pk=ticket.pk)


ACTIONS = {
    "customer reply reopening": (
        answered,
        lambda t, op: ticket_reply_customer(
            ticket=t, customer=t.customer, body="Still broken.", at=AT
        ),
        {TicketEvent.Kind.MESSAGE, TicketEvent.Kind.REOPENED},
        {},
    ),
    "take": (
        lambda t, op: t,
        lambda t, op: ticket_take(ticket=t, operator=op, at=AT),
        {TicketEvent.Kind.ASSIGNED},
        {"taken_at": AT},
    ),
    "take next": (
        lambda t, op: t,
        lambda t, op: ticket_take_next(operator=op, at=AT),
        {TicketEvent.Kind.ASSIGNED},
        {"taken_at": AT},
    ),
    "staff reply": (
        taken,
        lambda t, op: ticket_reply_staff(ticket=t, operator=op, body="Update it.", at=AT),
        {TicketEvent.Kind.MESSAGE, TicketEvent.Kind.STATUS},
        {"first_response_at": AT},
    ),
    "status change": (
        taken,
        lambda t, op: ticket_status_change(
            ticket=t, operator=op, status=Ticket.Status.WAITING_CUSTOMER, at=AT
        ),
        {TicketEvent.Kind.STATUS},
        {},
    ),
    "close": (
        taken,
        lambda t, op: ticket_close(ticket=t, user=op, body="Solved.", at=AT),
        {TicketEvent.Kind.CLOSED},
        {"closed_at": AT},
    ),
    "close by customer": (
        lambda t, op: t,
        lambda t, op: ticket_close_by_customer(ticket=t, customer=t.customer, at=AT),
        {TicketEvent.Kind.CLOSED},
        {"closed_at": AT},
    ),
    "duplicate": (
        taken,
        lambda t, op: ticket_mark_duplicate(
            ticket=t, original=TicketFactory(customer=t.customer), operator=op, at=AT
        ),
        {TicketEvent.Kind.DUPLICATE},
        {"closed_at": AT},
    ),
    "remote-access request": (
        taken,
        lambda t, op: remote_access_request(ticket=t, operator=op, at=AT),
        {TicketEvent.Kind.REMOTE_REQUEST},
        {},
    ),
}


@pytest.mark.parametrize(("before", "action", "kinds", "times"), ACTIONS.values(), ids=ACTIONS)
def test_the_service_stamps_its_events_and_times_at_the_instant_given(before, action, kinds, times):
    operator = StaffFactory()
    ticket = before(TicketFactory(), operator)
    already = set(ticket.events.values_list("pk", flat=True))

    action(ticket, operator)

    recorded = ticket.events.exclude(pk__in=already)
    assert {event.kind for event in recorded} == kinds
    assert {event.created_at for event in recorded} == {AT}
    ticket.refresh_from_db()
    for name, expected in times.items():
        assert getattr(ticket, name) == expected, name
