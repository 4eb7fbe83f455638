"""The password-reset e-mail speaks the account's language, whatever the page's language was."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.customers.factories import CustomerFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

SUBJECTS = {
    "en": "Technical support: choose a new password",
    "it": "Supporto Tecnico: scegli una nuova password",
}


@pytest.mark.parametrize(
    ("account", "page"),
    [("en", "it"), ("it", "en"), ("en", "en")],
)
def test_the_email_is_in_the_customers_language(client, account, page):
    customer = CustomerFactory(language=account)
    response = client.post(
        reverse("customers:password_reset"),
        {"email": customer.user.email},
        HTTP_ACCEPT_LANGUAGE=page,
    )
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.subject == SUBJECTS[account]
    expected_body = {
        "en": "Customer code:",
        "it": "Codice Cliente:",
    }[account]
    assert expected_body in message.body
    # The page the visitor reads next stays in the language it asked for.
    done = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE=page)
    assert done["Content-Language"] == page


def test_staff_without_a_customer_account_get_the_pages_language(client):
    staff = StaffFactory()
    client.post(
        reverse("customers:password_reset"), {"email": staff.email}, HTTP_ACCEPT_LANGUAGE="it"
    )
    [message] = mail.outbox
    assert message.subject == SUBJECTS["it"]
