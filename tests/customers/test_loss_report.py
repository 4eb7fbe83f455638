"""A loss or theft is told once: the report's circumstances fill the loss ticket (issue 16.4)."""

import re

import pytest
from django.urls import reverse

from customers.models import Unit
from tests.conftest import ticket_post_data
from tests.customers.factories import UnitFactory
from tests.products.factories import ProductFactory
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

CREATE = reverse("tickets:create")
CIRCUMSTANCES = "Stolen from the van in Brescia on 2 May; police report 123/2026."


def report(client, unit, status="stolen", details=CIRCUMSTANCES):
    url = reverse("customers:unit-report-lost", args=[unit.pk])
    return client.post(url, {"status": status, "details": details, "confirm": "on"})


def textarea(page: str, name: str) -> str:
    return re.search(rf'<textarea name="{name}"[^>]*>\s*(.*?)</textarea>', page, re.S).group(1)


def test_the_report_page_says_the_circumstances_are_carried(customer_client, unit):
    page = customer_client.get(reverse("customers:unit-report-lost", args=[unit.pk]))
    assert "filled in with what you write here" in page.content.decode()


@pytest.mark.parametrize(("status", "subject"), [("stolen", "Theft of"), ("lost", "Loss of")])
def test_the_loss_ticket_is_filled_in_from_the_report(
    customer_client, customer, terms, status, subject
):
    unit = UnitFactory(customer=customer, product=ProductFactory(name="KESSv2 Slave"))
    response = report(customer_client, unit, status=status)
    assert response.status_code == 302
    page = customer_client.get(response["Location"]).content.decode()

    assert textarea(page, "description") == CIRCUMSTANCES
    assert f'value="{subject} KESSv2 Slave {unit.serial_number}"' in page
    assert "Circumstances of the loss or theft" in page
    # The unit and the type are given, not choices: the unit's whole name is text that wraps.
    assert '<select name="target"' not in page
    assert '<select name="kind"' not in page
    assert f'<input type="hidden" name="target" value="unit:{unit.pk}">' in page
    assert '<input type="hidden" name="kind" value="loss">' in page
    assert re.search(rf'class="fixed-value"[^>]*>KESSv2 Slave · {unit.serial_number} ', page)
    assert page.count("<div data-problem-only hidden>") == 3

    # Accepting the terms is all that is left to do.
    data = {
        "target": f"unit:{unit.pk}",
        "kind": "loss",
        "language": "en",
        "subject": f"{subject} KESSv2 Slave {unit.serial_number}",
        "description": CIRCUMSTANCES,
        "form_token": re.search(r'name="form_token" value="(\w+)"', page).group(1),
        "accept_terms": "on",
        "terms_version": terms.pk,
    }
    response = customer_client.post(CREATE, data)
    assert response.status_code == 302, response.content.decode()
    ticket = Ticket.objects.get()
    assert (ticket.kind, ticket.unit, ticket.description) == ("loss", unit, CIRCUMSTANCES)


def test_the_report_link_of_the_units_page_opens_the_same_filled_in_form(customer_client, unit):
    report(customer_client, unit)
    units_page = customer_client.get(reverse("customers:units")).content.decode()
    link = f"{CREATE}?unit={unit.pk}&amp;kind=loss"
    assert link in units_page
    page = customer_client.get(CREATE, {"unit": unit.pk, "kind": "loss"}).content.decode()
    assert textarea(page, "description") == CIRCUMSTANCES


def test_a_refused_loss_ticket_keeps_what_the_customer_changed(customer_client, unit, terms):
    report(customer_client, unit)
    data = ticket_post_data(
        unit, terms, kind="loss", description="Changed text.", accept_terms="", subject="S"
    )
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert textarea(page, "description") == "Changed text."
    assert '<select name="target"' not in page


def test_an_active_unit_is_still_a_choice(customer_client, unit):
    page = customer_client.get(CREATE, {"unit": unit.pk}).content.decode()
    assert '<select name="target"' in page
    assert textarea(page, "description") == ""
    assert Unit.objects.get(pk=unit.pk).status == Unit.Status.ACTIVE
