import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from core.roles import OPERATORS
from customers.models import Unit
from tests.core.factories import staff_with_role
from tests.customers.factories import CustomerFactory, UnitFactory
from tests.products.factories import ProductFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = reverse("admin:customers_customer_changelist")
UNITS = reverse("admin:customers_unit_changelist")
PRODUCTS = reverse("admin:products_product_changelist")


def test_manager_suspends_a_customer_with_a_reason_and_the_portal_tells_it(
    manager_client, client, service_open
):
    customer = CustomerFactory()
    ticket = TicketFactory(customer=customer)
    selected = {"action": "suspend_customers", "_selected_action": [customer.pk]}

    form = manager_client.post(CUSTOMERS, selected)
    assert form.status_code == 200
    assert "Reason for the suspension" in form.content.decode()
    refused = manager_client.post(CUSTOMERS, {**selected, "apply": "1", "reason": " "})
    assert refused.status_code == 200
    customer.refresh_from_db()
    assert not customer.is_suspended

    done = manager_client.post(
        CUSTOMERS, {**selected, "apply": "1", "reason": "Counterfeit software found."}
    )
    assert done.status_code == 302
    customer.refresh_from_db()
    assert customer.is_suspended
    assert customer.suspension_reason == "Counterfeit software found."
    assert LogEntry.objects.filter(object_id=str(customer.pk)).exists()

    client.force_login(customer.user)
    detail = client.get(reverse("tickets:detail", args=[ticket.number]))
    assert detail.status_code == 200  # it still reads its tickets
    assert "Counterfeit software found." in detail.content.decode()
    reply = client.post(reverse("tickets:reply", args=[ticket.number]), {"body": "Hello?"})
    assert reply.status_code == 400
    assert "suspended" in reply.content.decode()
    assert not ticket.events.filter(body="Hello?").exists()


def test_manager_reinstates_a_customer(manager_client):
    customer = CustomerFactory(is_suspended=True, suspension_reason="Test")

    response = manager_client.post(
        CUSTOMERS, {"action": "reinstate_customers", "_selected_action": [customer.pk]}
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert not customer.is_suspended
    assert customer.suspension_reason == ""


def test_suspension_is_not_editable_on_the_customer_form(manager_client):
    customer = CustomerFactory()
    page = manager_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    assert 'name="is_suspended"' not in page.content.decode()
    assert 'name="code"' not in page.content.decode()


def test_manager_reports_a_unit_stolen(manager_client):
    unit = UnitFactory()
    selected = {"action": "report_lost_or_stolen", "_selected_action": [unit.pk]}

    assert manager_client.post(UNITS, selected).status_code == 200
    response = manager_client.post(
        UNITS, {**selected, "apply": "1", "status": Unit.Status.STOLEN, "details": "Van."}
    )

    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.status == Unit.Status.STOLEN
    assert unit.loss_details == "Van."
    assert unit.status_changed_at is not None


def test_manager_updates_a_products_latest_version(manager_client, monkeypatch):
    product = ProductFactory(latest_version="3.200")
    calls = []
    from products import services

    real = services.product_update_latest_version

    def spy(**kwargs):
        calls.append(kwargs["version"])
        return real(**kwargs)

    monkeypatch.setattr("products.admin.product_update_latest_version", spy)
    url = reverse("admin:products_product_change", args=[product.pk])
    data = {
        "code": product.code,
        "name": product.name,
        "family": product.family,
        "role": product.role,
        "has_serial_number": "on",
        "latest_version": " 3.213 ",
        "manuals_url": "",
        "is_active": "on",
        "position": 0,
    }

    response = manager_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:1500]
    product.refresh_from_db()
    assert product.latest_version == "3.213"
    assert calls == ["3.213"]


def test_operator_cannot_suspend_or_report(client):
    client.force_login(staff_with_role(OPERATORS, "luca"))
    customer = CustomerFactory()
    response = client.post(
        CUSTOMERS,
        {
            "action": "suspend_customers",
            "_selected_action": [customer.pk],
            "apply": "1",
            "reason": "No",
        },
    )
    assert response.status_code in (200, 302, 403)
    customer.refresh_from_db()
    assert not customer.is_suspended
