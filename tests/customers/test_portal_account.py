import pytest
from django.urls import reverse

from customers.models import Customer, Unit
from tests.conftest import ticket_post_data
from tests.customers.factories import CustomerFactory, UnitFactory
from tests.products.factories import DatabankFactory, ProductFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

PROFILE = reverse("customers:profile")
UNITS = reverse("customers:units")


# Profile ---------------------------------------------------------------------------------------


def test_profile_shows_the_vendor_details_and_the_editable_ones(customer_client, customer):
    page = customer_client.get(PROFILE).content.decode()
    assert customer.code in page
    assert customer.company in page
    assert customer.user.email in page
    assert 'name="contact_name"' in page
    assert 'name="email"' not in page  # the notification address is the vendor's


def test_profile_edit_saves_and_sets_the_language_cookie(customer_client, customer, settings):
    response = customer_client.post(
        PROFILE, {"contact_name": " Mario Rossi ", "phone": "+39 055 123", "language": "it"}
    )
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    customer.refresh_from_db()
    assert (customer.contact_name, customer.phone, customer.language) == (
        "Mario Rossi",
        "+39 055 123",
        "it",
    )
    page = customer_client.get(PROFILE).content.decode()
    assert '<html lang="it">' in page


def test_profile_cannot_change_code_or_company(customer_client, customer):
    customer_client.post(
        PROFILE,
        {"contact_name": "X", "phone": "", "language": "en", "code": "HACK", "company": "Hack"},
    )
    customer.refresh_from_db()
    assert customer.code != "HACK"
    assert customer.company != "Hack"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"contact_name": "X", "phone": "", "language": "de"}, "Select a valid choice."),
        ({"contact_name": "X", "phone": "", "language": ""}, "This field is required."),
        ({"contact_name": "X" * 201, "phone": "", "language": "en"}, "at most 200 characters"),
        ({"contact_name": "X", "phone": "1" * 41, "language": "en"}, "at most 40 characters"),
    ],
)
def test_profile_refuses_bad_input_and_saves_nothing(customer_client, customer, data, message):
    before = Customer.objects.values().get(pk=customer.pk)
    response = customer_client.post(PROFILE, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "alert-error" in response.content.decode()
    assert Customer.objects.values().get(pk=customer.pk) == before


def test_personal_data_lists_everything_held(customer_client, customer):
    unit = UnitFactory(customer=customer)
    TicketFactory(customer=customer, unit=unit)
    TicketFactory()  # someone else's
    page = customer_client.get(reverse("tickets:personal-data")).content.decode()
    for value in (customer.code, customer.company, customer.contact_name, customer.user.email):
        assert value in page
    assert unit.serial_number in page
    assert "<dd>1</dd>" in page  # one ticket


CUSTOMER_PAGES = ["customers:profile", "customers:units", "tickets:personal-data"]


@pytest.mark.parametrize("name", [*CUSTOMER_PAGES, "tickets:list"])
def test_staff_get_404_on_customer_pages(client, staff_user, name):
    client.force_login(staff_user)
    assert client.get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", [*CUSTOMER_PAGES, "tickets:create"])
def test_anonymous_is_sent_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('customers:login')}?next={reverse(name)}"


# Units -----------------------------------------------------------------------------------------


def test_register_a_unit(customer_client, customer):
    product = ProductFactory()
    response = customer_client.post(UNITS, {"product": product.pk, "serial_number": " ab-123 "})
    assert response.status_code == 302
    unit = Unit.objects.get(customer=customer)
    assert (unit.product, unit.serial_number, unit.status) == (product, "AB-123", "active")
    page = customer_client.get(UNITS).content.decode()
    assert "AB-123" in page


def test_duplicate_serial_for_the_same_product_is_refused(customer_client, customer):
    existing = UnitFactory(serial_number="SN-1")  # another customer's
    response = customer_client.post(
        UNITS, {"product": existing.product.pk, "serial_number": "sn-1"}
    )
    assert response.status_code == 400
    assert "This serial number is already registered." in response.content.decode()
    assert not Unit.objects.filter(customer=customer).exists()


def test_same_serial_on_another_product_is_fine(customer_client, customer):
    existing = UnitFactory(serial_number="SN-1")
    response = customer_client.post(
        UNITS, {"product": ProductFactory().pk, "serial_number": "SN-1"}
    )
    assert response.status_code == 302
    assert Unit.objects.filter(serial_number="SN-1").count() == 2
    assert existing.customer != customer


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"product": "", "serial_number": "X1"}, "This field is required."),
        ({"product": "999999", "serial_number": "X1"}, "Select a valid choice."),
        ({"product": "{product}", "serial_number": ""}, "This field is required."),
        ({"product": "{product}", "serial_number": "X" * 65}, "at most 64 characters"),
        ({"product": "{databank}", "serial_number": "X1"}, "Select a valid choice."),
    ],
)
def test_unit_register_refuses_bad_input(customer_client, customer, data, message):
    product, databank = ProductFactory(), DatabankFactory()
    data = {k: v.format(product=product.pk, databank=databank.pk) for k, v in data.items()}
    response = customer_client.post(UNITS, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Unit.objects.exists()


def test_databank_cannot_be_registered_through_the_service(customer):
    from django.core.exceptions import ValidationError

    from customers.services import unit_register

    with pytest.raises(ValidationError, match="no serial number"):
        unit_register(customer=customer, product=DatabankFactory(), serial_number="X")


def test_units_page_lists_only_mine(customer_client, customer):
    mine, theirs = UnitFactory(customer=customer), UnitFactory()
    page = customer_client.get(UNITS).content.decode()
    assert mine.serial_number in page
    assert theirs.serial_number not in page


def test_report_lost_then_only_a_loss_report_is_accepted(customer_client, customer, unit, terms):
    url = reverse("customers:unit-report-lost", args=[unit.pk])
    assert customer_client.get(url).status_code == 200
    response = customer_client.post(
        url, {"status": "stolen", "details": "Stolen from the van.", "confirm": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:create") + f"?unit={unit.pk}&kind=loss"
    unit.refresh_from_db()
    assert unit.status == Unit.Status.STOLEN
    assert unit.loss_details == "Stolen from the van."
    assert unit.status_changed_at is not None

    response = customer_client.post(reverse("tickets:create"), ticket_post_data(unit, terms))
    assert response.status_code == 400
    assert "only accepts that report" in response.content.decode()
    assert not Ticket.objects.exists()

    response = customer_client.post(
        reverse("tickets:create"),
        ticket_post_data(
            unit,
            terms,
            kind="loss",
            vehicle_description="",
            ecu_description="",
            error_message="",
            description="Stolen on Monday; police report 123.",
        ),
    )
    assert response.status_code == 302, response.content.decode()
    ticket = Ticket.objects.get()
    assert ticket.kind == Ticket.Kind.LOSS_REPORT


def test_report_lost_form_is_prefilled_for_the_loss_report(customer_client, unit):
    page = customer_client.get(
        reverse("tickets:create") + f"?unit={unit.pk}&kind=loss"
    ).content.decode()
    assert f'value="unit:{unit.pk}" selected' in page
    assert 'value="loss" selected' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "", "details": "x", "confirm": "on"}, "This field is required."),
        ({"status": "active", "details": "x", "confirm": "on"}, "Select a valid choice."),
        ({"status": "lost", "details": "", "confirm": "on"}, "This field is required."),
        ({"status": "lost", "details": "x"}, "This field is required."),
    ],
)
def test_report_lost_refuses_bad_input(customer_client, unit, data, message):
    response = customer_client.post(reverse("customers:unit-report-lost", args=[unit.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    unit.refresh_from_db()
    assert unit.status == Unit.Status.ACTIVE


def test_report_lost_twice_is_refused_clearly(customer_client, unit):
    url = reverse("customers:unit-report-lost", args=[unit.pk])
    customer_client.post(url, {"status": "lost", "details": "x", "confirm": "on"})
    response = customer_client.post(url, {"status": "stolen", "details": "y", "confirm": "on"})
    assert response.status_code == 400
    assert "already been reported lost or stolen" in response.content.decode()
    unit.refresh_from_db()
    assert (unit.status, unit.loss_details) == ("lost", "x")


def test_another_customers_unit_report_url_is_404(customer_client):
    theirs = UnitFactory(customer=CustomerFactory())
    url = reverse("customers:unit-report-lost", args=[theirs.pk])
    assert customer_client.get(url).status_code == 404
    response = customer_client.post(url, {"status": "lost", "details": "x", "confirm": "on"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Unit.Status.ACTIVE


def test_profile_confirmation_is_in_the_language_just_chosen(customer_client, customer):
    response = customer_client.post(
        PROFILE, {"contact_name": "Claire", "phone": "", "language": "fr"}, follow=True
    )
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert "Votre profil a été enregistré." in page


def test_report_lost_choices_are_a_group_with_a_legend(customer_client, unit):
    url = reverse("customers:unit-report-lost", args=[unit.pk])
    page = customer_client.post(url, {"details": "At the fair"}).content.decode()
    assert '<fieldset class="field field-group field-error required" id="id_status_group">' in (
        page
    )
    assert "<legend>What happened" in page
    assert '<a href="#id_status_group">What happened: This field is required.</a>' in page
    unit.refresh_from_db()
    assert not unit.is_lost_or_stolen


def test_password_rules_are_a_list_not_a_paragraph(client, customer):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    url = reverse(
        "customers:password_reset_confirm",
        args=[
            urlsafe_base64_encode(force_bytes(customer.user.pk)),
            default_token_generator.make_token(customer.user),
        ],
    )
    page = client.get(url, follow=True).content.decode()
    assert '<div class="help" id="id_new_password1_helptext"><ul>' in page
    assert '<p class="help" id="id_new_password1_helptext">' not in page
