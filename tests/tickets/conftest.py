"""Fixtures of the tickets tests that more than one module uses."""

import pytest

from tests.conftest import ticket_submit
from tickets import services as tickets_services
from tickets.models import Ticket


@pytest.fixture
def answered(customer, unit, terms, service_open, operator, on_commit):
    """A ticket the operator answered: the customer holds an e-mail about it."""
    with on_commit():
        ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    with on_commit():
        tickets_services.ticket_take(ticket=ticket, operator=operator)
    ticket.refresh_from_db()
    with on_commit():
        tickets_services.ticket_reply_staff(ticket=ticket, operator=operator, body="Try this.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ANSWERED
    return ticket
