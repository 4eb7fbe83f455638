"""Units written from the admin go through customers.services, as the portal's do."""

import html

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.models import Customer, Unit
from customers.services import unit_correct_serial
from tests.customers.factories import CustomerFactory, UnitFactory, UserFactory
from tests.products.factories import DatabankFactory, ProductFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

UNIT_ADD = reverse("admin:customers_unit_add")
ALREADY_REGISTERED = "This serial number is already registered."


@pytest.fixture
def product():
    return ProductFactory()


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def customer_form(customer: Customer, *, new_units=(), existing=None, **changes) -> dict:
    """The customer admin's change form, with its unit inline: registered rows, then new ones."""
    existing = list(customer.units.order_by("pk")) if existing is None else existing
    data = {
        "company": customer.company,
        "contact_name": customer.contact_name,
        "language": customer.language,
        "country": customer.country,
        "phone": customer.phone,
        "units-TOTAL_FORMS": str(len(existing) + len(new_units)),
        "units-INITIAL_FORMS": str(len(existing)),
        "units-MIN_NUM_FORMS": "0",
        "units-MAX_NUM_FORMS": "1000",
    }
    for index, unit in enumerate(existing):
        data[f"units-{index}-id"] = str(unit.pk)
        data[f"units-{index}-customer"] = str(customer.pk)
        data[f"units-{index}-product"] = str(unit.product_id)
        data[f"units-{index}-serial_number"] = unit.serial_number
    for index, (product, serial) in enumerate(new_units, start=len(existing)):
        data[f"units-{index}-customer"] = str(customer.pk)
        data[f"units-{index}-product"] = str(product.pk)
        data[f"units-{index}-serial_number"] = serial
    # The workshop's people and invitations (none here): their inlines' empty forms.
    for prefix in ("members", "invitations"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(changes)
    return data


def change_url(customer: Customer) -> str:
    return reverse("admin:customers_customer_change", args=[customer.pk])


# The unit inline on the customer's page ----------------------------------------------------------


def test_a_unit_added_on_the_customers_page_is_registered_by_the_service(manager_client, product):
    customer = CustomerFactory()

    response = manager_client.post(
        change_url(customer), customer_form(customer, new_units=[(product, "  kx-1234 ")])
    )

    assert response.status_code == 302, page_text(response)[:2000]
    unit = Unit.objects.get(customer=customer)
    assert (unit.product, unit.serial_number) == (product, "KX-1234")
    assert unit.status == Unit.Status.ACTIVE


def test_a_serial_registered_elsewhere_is_refused_and_nothing_is_saved(manager_client, product):
    UnitFactory(product=product, serial_number="KX-1234")
    customer = CustomerFactory(company="Old name")

    response = manager_client.post(
        change_url(customer),
        customer_form(customer, new_units=[(product, "kx-1234")], company="New name"),
    )

    assert response.status_code == 200
    assert ALREADY_REGISTERED in page_text(response)
    customer.refresh_from_db()
    assert customer.company == "Old name"
    assert not customer.units.exists()


def test_the_same_serial_twice_in_one_form_is_refused(manager_client, product):
    customer = CustomerFactory()

    response = manager_client.post(
        change_url(customer),
        customer_form(customer, new_units=[(product, "kx-77"), (product, "KX-77 ")]),
    )

    assert response.status_code == 200
    assert "Please correct the duplicate data" in page_text(response)
    assert not Unit.objects.filter(serial_number="KX-77").exists()


def test_a_refusal_while_saving_leaves_nothing_half_written(manager_client, product, monkeypatch):
    """Another manager registers the second serial between the form's check and the save."""
    from customers import services

    calls = []

    def racing_register(**kwargs):
        calls.append(kwargs["serial_number"])
        if len(calls) == 2:
            raise ValidationError({"serial_number": ALREADY_REGISTERED})
        return services.unit_register(**kwargs)

    monkeypatch.setattr("customers.admin.unit_register", racing_register)
    customer = CustomerFactory(company="Old name")

    response = manager_client.post(
        change_url(customer),
        customer_form(
            customer, new_units=[(product, "KX-1"), (product, "KX-2")], company="New name"
        ),
        follow=True,
    )

    assert calls == ["KX-1", "KX-2"]
    assert response.redirect_chain == [(change_url(customer), 302)]
    assert f"Nothing was saved: {ALREADY_REGISTERED}" in page_text(response)
    customer.refresh_from_db()
    assert customer.company == "Old name"
    assert not customer.units.exists()


def test_registered_units_are_read_only_on_the_customers_page(manager_client, product):
    unit = UnitFactory(product=product, serial_number="KX-1")
    customer = unit.customer
    other = ProductFactory()
    page = page_text(manager_client.get(change_url(customer)))
    assert 'name="units-0-serial_number"' in page
    assert 'name="units-1-serial_number"' not in page  # no empty row is offered by default

    data = customer_form(customer)
    data.update({"units-0-serial_number": "HACKED", "units-0-product": str(other.pk)})
    response = manager_client.post(change_url(customer), data)

    assert response.status_code == 302
    unit.refresh_from_db()
    assert (unit.product, unit.serial_number) == (product, "KX-1")


def test_a_new_customer_gets_its_units_through_the_service(manager_client, product):
    user = UserFactory(username="NEW01")
    data = {
        "user": str(user.pk),
        "code": "NEW01",
        "company": "New workshop",
        "contact_name": "",
        "language": "it",
        "country": "IT",
        "phone": "",
        "units-TOTAL_FORMS": "1",
        "units-INITIAL_FORMS": "0",
        "units-MIN_NUM_FORMS": "0",
        "units-MAX_NUM_FORMS": "1000",
        "units-0-product": str(product.pk),
        "units-0-serial_number": " new-1 ",
    }

    response = manager_client.post(reverse("admin:customers_customer_add"), data)

    assert response.status_code == 302, page_text(response)[:2000]
    customer = Customer.objects.get(code="NEW01")
    assert list(customer.units.values_list("serial_number", flat=True)) == ["NEW-1"]


# The units' own pages ---------------------------------------------------------------------------


def test_a_unit_added_from_the_units_list_is_registered_by_the_service(manager_client, product):
    customer = CustomerFactory()
    data = {"customer": str(customer.pk), "product": str(product.pk), "serial_number": " ab 9 "}

    response = manager_client.post(UNIT_ADD, data)

    assert response.status_code == 302, page_text(response)[:2000]
    assert Unit.objects.get(customer=customer).serial_number == "AB 9"


@pytest.mark.parametrize(
    ("serial", "message"),
    [("kx-1234", ALREADY_REGISTERED), ("   ", "This field is required.")],
)
def test_the_units_add_page_shows_the_refusals(manager_client, product, serial, message):
    UnitFactory(product=product, serial_number="KX-1234")
    customer = CustomerFactory()
    data = {"customer": str(customer.pk), "product": str(product.pk), "serial_number": serial}

    response = manager_client.post(UNIT_ADD, data)

    assert response.status_code == 200
    assert message in page_text(response)
    assert not customer.units.exists()


def test_a_product_without_serial_numbers_is_not_a_unit(manager_client):
    databank = DatabankFactory()
    customer = CustomerFactory()
    page = page_text(manager_client.get(UNIT_ADD))
    assert f'value="{databank.pk}"' not in page

    response = manager_client.post(
        UNIT_ADD,
        {"customer": str(customer.pk), "product": str(databank.pk), "serial_number": "X1"},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in page_text(response)
    assert not customer.units.exists()


def test_a_serial_is_corrected_while_no_ticket_refers_to_the_unit(manager_client, product):
    UnitFactory(product=product, serial_number="KX-2")
    unit = UnitFactory(product=product, serial_number="KX-1")
    url = reverse("admin:customers_unit_change", args=[unit.pk])
    page = page_text(manager_client.get(url))
    assert 'name="serial_number"' in page
    assert 'name="customer"' not in page
    assert 'name="product"' not in page

    taken = manager_client.post(url, {"serial_number": "kx-2"})
    assert taken.status_code == 200
    assert ALREADY_REGISTERED in page_text(taken)
    unit.refresh_from_db()
    assert unit.serial_number == "KX-1"

    done = manager_client.post(url, {"serial_number": " kx-3 "})
    assert done.status_code == 302
    unit.refresh_from_db()
    assert unit.serial_number == "KX-3"


def test_the_serial_of_a_unit_with_tickets_is_read_only(manager_client, unit):
    ticket = TicketFactory(customer=unit.customer, unit=unit, serial_number=unit.serial_number)
    url = reverse("admin:customers_unit_change", args=[unit.pk])
    page = page_text(manager_client.get(url))
    assert 'name="serial_number"' not in page
    assert unit.serial_number in page

    response = manager_client.post(url, {"serial_number": "OTHER-1"})

    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.serial_number == ticket.serial_number
    # The service holds the same rule for the shell and for a ticket opened meanwhile.
    with pytest.raises(ValidationError, match="Tickets refer to this unit"):
        unit_correct_serial(unit=unit, serial_number="OTHER-1")
    unit.refresh_from_db()
    assert unit.serial_number == ticket.serial_number


def test_units_are_never_deleted_from_the_admin(client, unit):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:customers_unit_delete", args=[unit.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Unit.objects.filter(pk=unit.pk).exists()
