"""The country reads as a name in the reader's language, not as an ISO code."""

import pytest
from django.urls import reverse
from django.utils import translation

from customers.countries import country_choices, country_name
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Italy"), ("it", "Italia"), ("fr", "Italie")],
)
def test_the_account_pages_name_the_country_in_the_readers_language(client, language, expected):
    customer = CustomerFactory(country="IT", language=language)
    client.force_login(customer.user)
    for url in (reverse("customers:profile"), reverse("tickets:personal-data")):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f"<dd>{expected}</dd>" in page, url
        assert "<dd>IT</dd>" not in page


def test_an_unknown_code_is_shown_as_stored_and_an_empty_one_as_a_dash(client):
    customer = CustomerFactory(country="XK")
    client.force_login(customer.user)
    assert "<dd>XK</dd>" in client.get(reverse("customers:profile")).content.decode()
    customer.country = ""
    customer.save()
    assert "<dd>—</dd>" in client.get(reverse("customers:profile")).content.decode()


def test_names_sort_by_the_readers_alphabet_accents_included():
    with translation.override("fr"):
        names = [name for _code, name in country_choices()]
        assert names.index("Égypte") < names.index("Espagne") < names.index("Finlande")
        assert country_name("de") == "Allemagne"


def test_the_admin_lists_filters_and_edits_countries_by_name(manager_client):
    customer = CustomerFactory(country="FR", company="Garage Dupont")
    CustomerFactory(country="XK", company="Auto Prishtina")
    changelist = manager_client.get(
        reverse("admin:customers_customer_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<td class="field-country_display">France</td>' in changelist
    assert "?country=FR" in changelist  # the filter, by name
    filtered = manager_client.get(
        reverse("admin:customers_customer_changelist"), {"country": "FR"}
    ).content.decode()
    assert "Garage Dupont" in filtered
    assert "Auto Prishtina" not in filtered

    change = manager_client.get(
        reverse("admin:customers_customer_change", args=[customer.pk])
    ).content.decode()
    assert '<option value="FR" selected>France</option>' in change
    other = CustomerFactory(country="XK")
    change = manager_client.get(
        reverse("admin:customers_customer_change", args=[other.pk])
    ).content.decode()
    assert '<option value="XK" selected>XK</option>' in change
