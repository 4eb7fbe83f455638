"""The unit's open tickets show as soon as the unit is known, not after a refusal (issue 16.2)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_image, ticket_post_data
from tests.customers.factories import CustomerFactory, UnitFactory
from tests.tickets.factories import TicketFactory
from tests.tickets.pages import form_token
from tickets.models import Attachment, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

CREATE = reverse("tickets:create")


def unit_lists(page: str) -> dict[str, bool]:
    """Each unit's list of open tickets in the page: target value → shown (not hidden)."""
    return {
        value: not hidden
        for value, hidden in re.findall(r'<ul data-unit-tickets="([^"]+)"( hidden)?>', page)
    }


def box_shown(page: str) -> bool:
    [attributes] = re.findall(r"<div ([^>]*data-open-tickets[^>]*)>", page)
    return "hidden" not in attributes


@pytest.fixture
def open_ticket(customer, unit):
    TicketFactory(
        customer=customer,
        unit=unit,
        subject="Closed one",
        status="closed",
        closed_at=timezone.now(),
    )
    return TicketFactory(customer=customer, unit=unit, subject="The earlier problem")


def test_a_form_opened_from_the_unit_lists_its_open_tickets_at_once(
    customer_client, unit, open_ticket
):
    response = customer_client.get(CREATE, {"unit": unit.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"#{open_ticket.number} The earlier problem" in page
    assert "Closed one" not in page
    assert box_shown(page)
    assert unit_lists(page) == {f"unit:{unit.pk}": True}
    assert 'name="confirm_new_problem" id="id_confirm_new_problem"' in page
    # No error: nothing was refused.
    assert 'id="form-errors"' not in page


def test_without_a_unit_the_lists_wait_hidden_for_the_choice(customer, customer_client, unit):
    other_unit = UnitFactory(customer=customer)
    quiet_unit = UnitFactory(customer=customer)
    TicketFactory(customer=customer, unit=unit)
    TicketFactory(customer=customer, unit=other_unit)
    page = customer_client.get(CREATE).content.decode()
    assert not box_shown(page)
    assert unit_lists(page) == {f"unit:{unit.pk}": False, f"unit:{other_unit.pk}": False}
    assert f"unit:{quiet_unit.pk}" not in unit_lists(page)
    # Without the script, a button asks the server; the script hides it.
    assert 'name="check_unit"' in page
    assert "data-without-script" in page


def test_another_customers_unit_shows_nothing(customer_client, customer):
    theirs = UnitFactory(customer=CustomerFactory())
    TicketFactory(customer=theirs.customer, unit=theirs, subject="Their secret")
    UnitFactory(customer=customer)
    page = customer_client.get(CREATE, {"unit": theirs.pk}).content.decode()
    assert "Their secret" not in page
    assert "data-open-tickets" not in page


def test_the_check_button_lists_the_unit_chosen_and_keeps_what_was_written(
    customer_client, unit, terms, open_ticket, private_media
):
    data = ticket_post_data(unit, terms, subject="Kept subject", screenshots=make_image("a.png"))
    data["check_unit"] = "1"
    response = customer_client.post(CREATE, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"#{open_ticket.number} The earlier problem" in page
    assert box_shown(page)
    assert 'value="Kept subject"' in page
    assert 'id="form-errors"' not in page
    assert not Ticket.objects.exclude(pk=open_ticket.pk).filter(subject="Kept subject").exists()
    # The file chosen is kept for this form, ticked.
    kept = Attachment.objects.get(ticket__isnull=True)
    assert kept.form_token == form_token(page)
    assert re.search(rf'<input type="checkbox" name="staged" value="{kept.pk}"[^>]* checked', page)

    # Sent with the confirmation, the form opens the ticket with the kept file.
    data = ticket_post_data(
        unit,
        terms,
        subject="Kept subject",
        staged=[kept.pk],
        form_token=kept.form_token,
        confirm_new_problem="on",
    )
    assert customer_client.post(CREATE, data).status_code == 302
    ticket = Ticket.objects.get(subject="Kept subject")
    assert list(ticket.attachments.values_list("original_name", flat=True)) == ["a.png"]


def test_the_check_button_says_so_when_the_unit_has_no_open_ticket(
    customer, customer_client, unit, terms
):
    busy = UnitFactory(customer=customer)
    TicketFactory(customer=customer, unit=busy)
    data = {**ticket_post_data(unit, terms), "check_unit": "1"}
    page = customer_client.post(CREATE, data).content.decode()
    assert "This unit has no open ticket: go on with the form." in page
    assert not box_shown(page)


def test_the_guard_is_still_enforced_on_the_server(customer_client, unit, terms, open_ticket):
    # A form that never showed the list (a script, an old page) is still refused.
    response = customer_client.post(CREATE, ticket_post_data(unit, terms))
    assert response.status_code == 400
    assert "confirm that this is a new problem" in response.content.decode()
    assert Ticket.objects.count() == 2


def test_the_form_reads_every_units_open_tickets_in_one_query(
    customer_client, customer, unit, django_assert_num_queries
):
    TicketFactory(customer=customer, unit=unit)
    customer_client.get(CREATE, {"unit": unit.pk})  # the calendar's first load is not the form's
    with CaptureQueriesContext(connection) as few:
        customer_client.get(CREATE, {"unit": unit.pk})
    for _ in range(4):
        more = UnitFactory(customer=customer)
        TicketFactory.create_batch(3, customer=customer, unit=more)
    with django_assert_num_queries(len(few.captured_queries)):
        page = customer_client.get(CREATE, {"unit": unit.pk}).content.decode()
    assert len(unit_lists(page)) == 5
