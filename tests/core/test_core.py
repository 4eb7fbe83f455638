import pytest
from django.urls import reverse

from tests.customers.factories import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db


def test_health_answers_ok(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("customers:login"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_staff_get_a_shorter_session_than_customers(client, settings, customer):
    settings.STAFF_SESSION_AGE = 3600
    staff = StaffFactory()
    client.post(reverse("customers:login"), {"username": staff.username, "password": PASSWORD})
    client.get(reverse("tickets:home"))
    assert client.session.get_expiry_age() == 3600

    client.logout()
    client.post(reverse("customers:login"), {"username": customer.code, "password": PASSWORD})
    client.get(reverse("tickets:home"))
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_terms_page_shows_the_version_in_force_in_the_visitors_language(client, terms):
    response = client.get(reverse("core:terms"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert terms.text_fr in response.content.decode()
    assert terms.version in response.content.decode()


def test_terms_page_without_terms_is_a_404(client, db):
    assert client.get(reverse("core:terms")).status_code == 404


def test_the_server_error_page_renders_on_its_own_in_the_visitors_language(rf, settings):
    from django.utils import translation
    from django.views.defaults import server_error

    with translation.override("it"):
        response = server_error(rf.get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert '<html lang="it">' in page
    assert "Torna alla home page" in page
    assert "portal.css" in page
