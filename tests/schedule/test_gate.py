"""The gate at the instants that matter, as a function and through the portal's HTTP surface."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from schedule.gate import ServiceClosedError, ServiceState, require_service_open, service_status
from tests.conftest import ticket_post_data
from tests.schedule.conftest import rome
from tests.schedule.factories import ClosureFactory, MaintenanceFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

OPEN = ServiceState.OPEN
OUT = ServiceState.OUTSIDE_HOURS
HOLIDAY = ServiceState.HOLIDAY
CLOSURE = ServiceState.CLOSURE
MAINTENANCE = ServiceState.MAINTENANCE

# label, instant, state, next opening (None when open). Default hours, Italian holidays, plus a
# closure from Friday 7 to Monday 10 November 2025 and maintenance on 12 November 10:00-11:00.
GATE_TABLE = [
    ("weekday 08:29", rome(2025, 11, 26, 8, 29), OUT, rome(2025, 11, 26, 8, 30)),
    ("weekday 08:30", rome(2025, 11, 26, 8, 30), OPEN, None),
    ("weekday 12:29", rome(2025, 11, 26, 12, 29), OPEN, None),
    ("weekday 12:30", rome(2025, 11, 26, 12, 30), OUT, rome(2025, 11, 26, 14, 0)),
    ("weekday 13:59", rome(2025, 11, 26, 13, 59), OUT, rome(2025, 11, 26, 14, 0)),
    ("weekday 14:00", rome(2025, 11, 26, 14, 0), OPEN, None),
    ("weekday 18:00", rome(2025, 11, 26, 18, 0), OUT, rome(2025, 11, 27, 8, 30)),
    ("spring-forward Sunday", rome(2025, 3, 30, 10, 0), OUT, rome(2025, 3, 31, 8, 30)),
    ("fall-back Sunday", rome(2025, 10, 26, 2, 30), OUT, rome(2025, 10, 27, 8, 30)),
    ("Easter Monday", rome(2025, 4, 21, 10, 0), HOLIDAY, rome(2025, 4, 22, 8, 30)),
    ("15 August", rome(2025, 8, 15, 10, 0), HOLIDAY, rome(2025, 8, 18, 8, 30)),
    ("24 December", rome(2025, 12, 24, 10, 0), OPEN, None),
    ("24 December evening", rome(2025, 12, 24, 18, 30), OUT, rome(2025, 12, 29, 8, 30)),
    ("25 December", rome(2025, 12, 25, 10, 0), HOLIDAY, rome(2025, 12, 29, 8, 30)),
    ("26 December", rome(2025, 12, 26, 10, 0), HOLIDAY, rome(2025, 12, 29, 8, 30)),
    ("new year's eve evening", rome(2025, 12, 31, 18, 0), OUT, rome(2026, 1, 2, 8, 30)),
    ("closure: Friday", rome(2025, 11, 7, 10, 0), CLOSURE, rome(2025, 11, 11, 8, 30)),
    ("closure: Saturday", rome(2025, 11, 8, 10, 0), CLOSURE, rome(2025, 11, 11, 8, 30)),
    ("closure: Monday", rome(2025, 11, 10, 17, 59), CLOSURE, rome(2025, 11, 11, 8, 30)),
    ("before the closure", rome(2025, 11, 6, 18, 0), OUT, rome(2025, 11, 11, 8, 30)),
    ("maintenance", rome(2025, 11, 12, 10, 30), MAINTENANCE, rome(2025, 11, 12, 11, 0)),
    ("after maintenance", rome(2025, 11, 12, 11, 0), OPEN, None),
]
IDS = [row[0] for row in GATE_TABLE]
ROWS = [row[1:] for row in GATE_TABLE]


@pytest.fixture(autouse=True)
def calendar_data():
    ClosureFactory(
        title_en="Bridge",
        title_it="Ponte",
        first_day=date(2025, 11, 7),
        last_day=date(2025, 11, 10),
    )
    MaintenanceFactory(starts_at=rome(2025, 11, 12, 10, 0), ends_at=rome(2025, 11, 12, 11, 0))


@pytest.mark.parametrize(("at", "state", "next_opening"), ROWS, ids=IDS)
def test_gate_function(at, state, next_opening):
    status = service_status(at=at)
    assert (status.state, status.next_opening) == (state, next_opening)
    assert status.accepts_tickets is (state == OPEN)
    assert status.portal_reachable is (state != MAINTENANCE)
    assert bool(status.reason) is (state != OPEN)
    if state != OPEN:
        with pytest.raises(ServiceClosedError) as caught:
            require_service_open(at=at)
        assert caught.value.status.next_opening == next_opening


@pytest.mark.parametrize(("at", "state", "next_opening"), ROWS, ids=IDS)
def test_gate_over_http(client, customer, unit, terms, at, state, next_opening):
    ticket = TicketFactory(customer=customer, unit=unit)
    client.force_login(customer.user)
    detail_url = reverse("tickets:detail", args=[ticket.number])
    with time_machine.travel(at, tick=False):
        home = client.get(reverse("tickets:home"))
        detail = client.get(detail_url)
        response = client.post(
            reverse("tickets:create"),
            ticket_post_data(unit, terms, confirm_new_problem="on"),
        )
        reply = client.post(
            reverse("tickets:reply", args=[ticket.number]), {"body": "The log is attached."}
        )
    replies = ticket.events.filter(kind=TicketEvent.Kind.MESSAGE)
    if state == MAINTENANCE:
        assert home.status_code == detail.status_code == 503
        assert response.status_code == reply.status_code == 503
        assert Ticket.objects.count() == 1
        assert not replies.exists()
        return
    page = home.content.decode()
    assert home.status_code == detail.status_code == 200
    assert f"service-status service-{state}" in page
    if state == OPEN:
        assert reverse("tickets:create") in page
        assert 'action="{}"'.format(reverse("tickets:reply", args=[ticket.number])) in (
            detail.content.decode()
        )
        assert response.status_code == 302
        assert reply.status_code == 302
        assert Ticket.objects.count() == 2
        assert replies.get().body == "The log is attached."
    else:
        # The button is disabled and points to the status box, which gives the reason.
        assert 'disabled aria-describedby="service-status-reason"' in page
        assert 'id="service-status-reason"' in page
        assert "Replies are closed right now." in detail.content.decode()
        when = f"{next_opening:%H:%M}"
        for refused in (response, reply):
            assert refused.status_code == 400
            assert "The service is closed right now." in refused.content.decode()
            assert when in refused.content.decode()
        assert "The log is attached." in reply.content.decode()
        assert Ticket.objects.count() == 1
        assert not replies.exists()


def test_outside_hours_does_not_gate_when_the_setting_is_off(settings, client, unit, terms):
    settings.SERVICE_GATE_OUTSIDE_HOURS = False
    at = rome(2025, 11, 26, 13, 0)
    assert service_status(at=at).state == OUT
    assert service_status(at=at).accepts_tickets
    client.force_login(unit.customer.user)
    with time_machine.travel(at, tick=False):
        response = client.post(reverse("tickets:create"), ticket_post_data(unit, terms))
    assert response.status_code == 302
    # A holiday still closes.
    with pytest.raises(ServiceClosedError):
        require_service_open(at=rome(2025, 12, 25, 10, 0))


def test_visitor_sees_the_status_and_when_it_opens(client):
    with time_machine.travel(rome(2025, 12, 25, 10, 0), tick=False):
        page = client.get(reverse("tickets:home")).content.decode()
    assert "Today is a national holiday (Christmas Day): there is no support service." in page
    assert "Monday 29 December 2025, 08:30" in page
