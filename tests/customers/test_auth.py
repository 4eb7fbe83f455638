import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from customers.services import customer_create
from tests.customers.factories import PASSWORD, CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

LOGIN = reverse("customers:login")


def login(client, username, password=PASSWORD, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize(
    "username",
    [
        pytest.param(lambda c: f"  {c.code.lower()} ", id="code, lower case, padded"),
        pytest.param(lambda c: c.code, id="code as given"),
        pytest.param(lambda c: c.user.email.upper(), id="e-mail, upper case"),
    ],
)
def test_login_by_customer_code_or_email_in_any_case(client, customer, username):
    response = login(client, username(customer))
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:home")
    assert client.session[SESSION_KEY] == str(customer.user.pk)
    assert client.get(reverse("tickets:list")).status_code == 200


def test_login_sets_the_profile_language_cookie(client, settings):
    customer = CustomerFactory(language="fr")
    response = login(client, customer.code)
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    page = client.get(reverse("tickets:home"))
    assert '<html lang="fr">' in page.content.decode()


def test_login_follows_a_safe_next_but_not_an_external_one(client, customer):
    response = client.post(
        LOGIN, {"username": customer.code, "password": PASSWORD, "next": "/tickets/"}
    )
    assert response["Location"] == "/tickets/"
    client.post(reverse("customers:logout"))
    response = client.post(
        LOGIN,
        {"username": customer.code, "password": PASSWORD, "next": "https://evil.example.com/"},
    )
    assert response["Location"] == reverse("tickets:home")


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", "", "This field is required."),
        ("C99999", PASSWORD, "The customer code, e-mail or password is wrong."),
        ("{code}", "wrong-password", "The customer code, e-mail or password is wrong."),
    ],
)
def test_login_refuses_bad_input_with_a_clear_message(
    client, customer, username, password, message
):
    response = login(client, username.format(code=customer.code), password)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert SESSION_KEY not in client.session


def test_inactive_user_cannot_log_in(client, customer):
    customer.user.is_active = False
    customer.user.save()
    response = login(client, customer.code)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_login_gives_a_new_session_key(client, customer):
    client.get(LOGIN)
    client.session["probe"] = 1  # make the anonymous session exist
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    login(client, customer.code)
    assert client.session.session_key != before
    assert client.session[SESSION_KEY] == str(customer.user.pk)


def test_logout_needs_post_and_ends_the_session(customer_client):
    assert customer_client.get(reverse("customers:logout")).status_code == 405
    assert SESSION_KEY in customer_client.session
    response = customer_client.post(reverse("customers:logout"))
    assert response.status_code == 302
    assert SESSION_KEY not in customer_client.session
    response = customer_client.get(reverse("tickets:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def _reset_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/account/password-reset/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_by_email_end_to_end(client, customer):
    response = client.post(
        reverse("customers:password_reset"), {"email": customer.user.email.upper()}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer.user.email]
    assert customer.code in message.body
    link = _reset_link(message)

    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert "new_password1" in response.content.decode()
    set_url = response.redirect_chain[-1][0]
    response = client.post(
        set_url, {"new_password1": "Blue-tractor-2026", "new_password2": "Blue-tractor-2026"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:password_reset_complete")

    assert login(client, customer.code, "Blue-tractor-2026").status_code == 302
    client.post(reverse("customers:logout"))
    assert login(client, customer.code, PASSWORD).status_code == 200  # the old one is gone
    # The link works once only.
    response = client.get(link, follow=True)
    assert "no longer valid" in response.content.decode()


def test_imported_customer_without_a_password_can_set_its_first_one(client, db):
    customer = customer_create(code="IMP1", company="Imported", email="imp1@example.com")
    assert not customer.user.has_usable_password()
    client.post(reverse("customers:password_reset"), {"email": "imp1@example.com"})
    assert len(mail.outbox) == 1
    response = client.get(_reset_link(mail.outbox[0]), follow=True)
    set_url = response.redirect_chain[-1][0]
    client.post(
        set_url, {"new_password1": "Blue-tractor-2026", "new_password2": "Blue-tractor-2026"}
    )
    assert login(client, "imp1", "Blue-tractor-2026").status_code == 302


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client, db):
    response = client.post(reverse("customers:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["", "not-an-address"])
def test_password_reset_refuses_a_bad_address(client, db, email):
    response = client.post(reverse("customers:password_reset"), {"email": email})
    assert response.status_code == 200
    assert "alert-error" in response.content.decode()
    assert mail.outbox == []


def test_password_reset_refuses_mismatched_or_weak_passwords(client, customer):
    client.post(reverse("customers:password_reset"), {"email": customer.user.email})
    response = client.get(_reset_link(mail.outbox[0]), follow=True)
    set_url = response.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "Blue-tractor-2026", "new_password2": "x"})
    assert response.status_code == 200
    assert "didn\u2019t match" in response.content.decode()
    response = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert login(client, customer.code, PASSWORD).status_code == 302


# Throttling (django-axes: failures counted per user name *and* address) -----------------------


def _fail(client, username, ip, times):
    for _ in range(times):
        login(client, username, "wrong-password", ip=ip)


def test_lockout_is_per_user_and_address(client, settings, customer):
    other = CustomerFactory()
    _fail(client, customer.code, "10.0.0.1", settings.AXES_FAILURE_LIMIT)

    response = login(client, customer.code, ip="10.0.0.1")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert SESSION_KEY not in client.session

    # Another customer behind the same address is not locked out ...
    assert login(client, other.code, ip="10.0.0.1").status_code == 302
    client.post(reverse("customers:logout"))
    # ... nor is the same customer from another address.
    assert login(client, customer.code, ip="10.0.0.2").status_code == 302


def test_lockout_cannot_be_dodged_by_changing_the_case_of_the_login(client, settings, customer):
    variants = [customer.code.lower(), customer.code.upper(), customer.user.email.upper()]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        login(client, variants[attempt % 2], "wrong-password")
    response = login(client, customer.code.lower())
    assert response.status_code == 429


def test_a_successful_login_resets_the_failures(client, settings, customer):
    _fail(client, customer.code, "10.0.0.1", settings.AXES_FAILURE_LIMIT - 1)
    assert login(client, customer.code).status_code == 302
    client.post(reverse("customers:logout"))
    _fail(client, customer.code, "10.0.0.1", settings.AXES_FAILURE_LIMIT - 1)
    assert login(client, customer.code).status_code == 302
