"""A suspended customer reads its units but registers none, as it reads tickets but writes none."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from customers.models import Unit
from customers.services import customer_suspend, unit_register
from tests.customers.factories import CustomerFactory
from tests.products.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

UNITS = reverse("customers:units")
REASON = "Counterfeit software found during a remote session."


def test_the_service_refuses_a_suspended_customer_with_the_reason(customer):
    customer_suspend(customer=customer, reason=REASON)
    with pytest.raises(PermissionDenied, match="Counterfeit software found"):
        unit_register(customer=customer, product=ProductFactory(), serial_number="KS1")
    assert not Unit.objects.exists()


def test_staff_may_still_register_a_unit_for_a_suspended_customer(customer):
    customer_suspend(customer=customer, reason=REASON)
    unit = unit_register(
        customer=customer, product=ProductFactory(), serial_number="ks1", by_staff=True
    )
    assert unit.serial_number == "KS1"


def test_the_units_page_shows_the_suspension_instead_of_the_form(customer_client, customer):
    customer_suspend(customer=customer, reason=REASON)
    page = customer_client.get(UNITS).content.decode()
    assert "Your account is suspended." in page
    assert REASON in page
    assert 'name="serial_number"' not in page


def test_a_post_from_a_suspended_customer_is_refused_and_nothing_is_stored(
    customer_client, customer
):
    product = ProductFactory()
    page_before = customer_client.get(UNITS)  # the page was open before the suspension
    assert 'name="serial_number"' in page_before.content.decode()
    customer_suspend(customer=customer, reason=REASON)
    response = customer_client.post(UNITS, {"product": product.pk, "serial_number": "KS1"})
    assert response.status_code == 400
    assert REASON in response.content.decode()
    assert not Unit.objects.exists()


def test_an_active_customer_still_registers(customer_client, customer):
    product = ProductFactory()
    response = customer_client.post(UNITS, {"product": product.pk, "serial_number": "ks1"})
    assert response.status_code == 302
    assert Unit.objects.get().customer == customer


def test_the_admin_registers_a_unit_for_a_suspended_customer(manager_client):
    suspended = CustomerFactory(is_suspended=True, suspension_reason=REASON)
    product = ProductFactory()
    response = manager_client.post(
        reverse("admin:customers_unit_add"),
        {"customer": suspended.pk, "product": product.pk, "serial_number": "ks9"},
    )
    assert response.status_code == 302
    assert Unit.objects.get().customer == suspended
