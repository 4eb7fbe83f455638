"""Sessions that name their user: one query for the session, its user and customer."""

import importlib

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session as DjangoSession
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import LoginSession
from customers.sessions import SessionStore
from tests.customers.factories import PASSWORD, CustomerFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

LOGIN = reverse("customers:login")
LIST = reverse("tickets:list")


def session_of(client) -> LoginSession:
    return LoginSession.objects.get(
        session_key=client.cookies[django_settings.SESSION_COOKIE_NAME].value
    )


def test_a_log_in_writes_a_session_row_naming_its_user(client, customer):
    client.post(LOGIN, {"username": customer.code, "password": PASSWORD})

    assert session_of(client).user == customer.user


def test_a_page_reads_the_session_its_user_and_customer_in_one_query(client, customer):
    client.post(LOGIN, {"username": customer.code, "password": PASSWORD})
    client.get(LIST)  # the first request of a process also reads the service calendar

    with CaptureQueriesContext(connection) as queries:
        page = client.get(LIST)

    assert page.status_code == 200
    first = queries.captured_queries[0]["sql"]
    assert LoginSession._meta.db_table in first
    assert customer._meta.db_table in first
    assert customer.user._meta.db_table in first
    users = [q["sql"] for q in queries.captured_queries[1:] if 'FROM "customers_user"' in q["sql"]]
    assert not users, users


def test_the_log_out_deletes_the_row(client, customer):
    client.post(LOGIN, {"username": customer.code, "password": PASSWORD})
    key = session_of(client).session_key

    client.post(reverse("customers:logout"))

    assert not LoginSession.objects.filter(session_key=key).exists()
    assert client.get(LIST).status_code == 302


def test_the_row_follows_the_user_its_data_names(customer):
    other = CustomerFactory()
    store = SessionStore()
    store[SESSION_KEY] = str(customer.user.pk)
    store.save()
    assert LoginSession.objects.get(session_key=store.session_key).user == customer.user

    store[SESSION_KEY] = str(other.user.pk)
    store.save()
    assert LoginSession.objects.get(session_key=store.session_key).user == other.user

    del store[SESSION_KEY]
    store.save()
    assert LoginSession.objects.get(session_key=store.session_key).user is None


def test_a_password_changed_elsewhere_still_ends_the_session(client, customer):
    """The user comes with the row, and Django's hash check still runs on it."""
    client.post(LOGIN, {"username": customer.code, "password": PASSWORD})
    assert client.get(LIST).status_code == 200

    customer.user.set_password("a whole new password 2026")
    customer.user.save()

    response = client.get(LIST)
    assert response.status_code == 302
    assert reverse("customers:login") in response["Location"]


def test_a_deactivated_user_is_logged_out_on_the_next_page(client, customer):
    client.post(LOGIN, {"username": customer.code, "password": PASSWORD})
    customer.user.is_active = False
    customer.user.save()

    assert client.get(LIST).status_code == 302


def test_a_suspension_shows_on_the_next_page_without_a_new_log_in(client, customer):
    client.post(LOGIN, {"username": customer.code, "password": PASSWORD})
    client.get(LIST)
    customer.is_suspended = True
    customer.suspension_reason = "Unpaid invoice 2026/118"
    customer.save()

    page = client.get(reverse("tickets:create"))

    assert "Unpaid invoice 2026/118" in page.content.decode()


def test_deleting_a_user_deletes_their_sessions(client):
    staff = StaffFactory()
    client.post(reverse("admin:login"), {"username": staff.username, "password": PASSWORD})
    assert LoginSession.objects.filter(user=staff).count() == 1

    pk = staff.pk

    staff.delete()

    assert not LoginSession.objects.filter(user_id=pk).exists()


def test_a_session_row_without_a_user_column_still_finds_its_user(client, customer):
    """A row whose column is empty (written by hand, or before the column) is read as before."""
    client.post(LOGIN, {"username": customer.code, "password": PASSWORD})
    LoginSession.objects.filter(user=customer.user).update(user=None)

    assert client.get(LIST).status_code == 200


def test_the_upgrade_moves_the_open_sessions_of_django_s_table(client, customer):
    """Users logged in before the upgrade stay logged in after it (migration 0003)."""
    old = DjangoSessionStore()
    old[SESSION_KEY] = str(customer.user.pk)
    old[BACKEND_SESSION_KEY] = django_settings.AUTHENTICATION_BACKENDS[-1]
    old[HASH_SESSION_KEY] = customer.user.get_session_auth_hash()
    old.create()
    anonymous = DjangoSessionStore()
    anonymous["django_language"] = "fr"
    anonymous.create()
    migration = importlib.import_module("customers.migrations.0003_login_session")

    migration.sessions_move(apps, None)

    assert not DjangoSession.objects.exists()
    assert LoginSession.objects.get(session_key=old.session_key).user == customer.user
    assert LoginSession.objects.get(session_key=anonymous.session_key).user is None
    client.cookies[django_settings.SESSION_COOKIE_NAME] = old.session_key
    assert client.get(LIST).status_code == 200
