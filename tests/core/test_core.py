import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import reverse

from core.middleware import StaffSessionMiddleware
from customers.sessions import AuthenticationMiddleware, SessionStore
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


def test_a_staff_session_is_short_from_the_log_in_itself(client, settings):
    settings.STAFF_SESSION_AGE = 3600
    staff = StaffFactory()

    client.post(reverse("admin:login"), {"username": staff.username, "password": PASSWORD})

    assert client.session.get_expiry_age() == 3600


def test_a_session_that_became_staff_s_is_cut_short_on_its_next_page(client, settings, customer):
    settings.STAFF_SESSION_AGE = 3600
    client.force_login(customer.user)
    customer.user.is_staff = True
    customer.user.save()

    client.get(reverse("tickets:home"))

    assert client.session.get_expiry_age() == 3600


def test_a_view_that_does_not_read_the_user_does_not_load_it(
    rf, settings, django_assert_num_queries
):
    settings.STAFF_SESSION_AGE = 3600
    staff = StaffFactory()
    session = SessionStore()
    session[SESSION_KEY] = str(staff.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = staff.get_session_auth_hash()
    session.create()
    request = rf.get("/anything/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = session.session_key
    chain = SessionMiddleware(
        AuthenticationMiddleware(StaffSessionMiddleware(lambda request: HttpResponse("20 KB")))
    )

    with django_assert_num_queries(0):
        chain(request)

    assert not hasattr(request, "_cached_user")


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


def test_a_log_out_made_while_redis_is_away_still_holds_once_redis_is_back(
    client, customer, redis_cache
):
    """Sessions live in the database alone: no cached copy can outlive a log-out."""
    client.force_login(customer.user)
    assert client.get(reverse("tickets:list")).status_code == 200
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    health = cache._health
    health.down_until = time.monotonic() + 100  # Redis away, its data kept
    client.post(reverse("customers:logout"))
    # The process that could not delete a cached copy dies before Redis is back (a deploy),
    # and another one answers the next request.
    health.dropped.clear()
    health.down_until = 0

    client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    response = client.get(reverse("tickets:list"))
    assert response.status_code == 302
    assert reverse("customers:login") in response["Location"]
