"""Erasure (§11): the customer asks with its password; a manager confirms or refuses it."""

import pytest
from auditlog.models import LogEntry
from axes.models import AccessLog
from django.core import mail
from django.test import Client
from django.urls import reverse

from core.roles import MANAGERS, OPERATORS
from customers.models import ErasureRequest
from customers.services import customer_reinstate, customer_suspend
from tests.core.factories import staff_with_role
from tests.customers.factories import PASSWORD
from tests.tickets.factories import TicketFactory, TicketRatingFactory
from tickets.models import Attachment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:customers_erasurerequest_changelist"


@pytest.fixture
def private_root(_private_media):
    return _private_media


@pytest.fixture
def ticket(customer, _private_media):
    ticket = TicketFactory(customer=customer, subject="Blank display")
    event = TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.MESSAGE, author=customer.user, body="My VIN is X."
    )
    (_private_media / "photo.jpg").write_bytes(b"JPEG")
    Attachment.objects.create(
        ticket=ticket,
        event=event,
        uploaded_by=customer.user,
        kind=Attachment.Kind.ECU_PHOTO,
        file="photo.jpg",
        original_name="photo.jpg",
        content_type="image/jpeg",
        size=4,
    )
    return ticket


def ask(client):
    return client.post(reverse("tickets:personal-data-erasure"), {"password": PASSWORD})


def test_the_request_needs_the_password(customer_client, customer):
    response = customer_client.post(reverse("tickets:personal-data-erasure"), {"password": "no"})
    assert response.status_code == 400
    assert "The password is not correct." in response.content.decode()
    assert not ErasureRequest.objects.exists()
    assert ask(customer_client).status_code == 302
    page = customer_client.get(reverse("tickets:personal-data")).content.decode()
    assert "You asked to erase your account on" in page
    # Asked once: a second request is refused while the first waits.
    assert ask(customer_client).status_code == 400
    assert ErasureRequest.objects.filter(customer=customer).count() == 1


def test_a_manager_confirms_and_the_account_is_erased_but_the_audit_stays(
    customer_client, customer, ticket, private_root, django_capture_on_commit_callbacks
):
    customer_suspend(customer=customer, reason="Unpaid invoice.")
    customer_reinstate(customer=customer)
    audit_before = set(LogEntry.objects.values_list("pk", flat=True))
    assert audit_before
    AccessLog.objects.create(
        username=customer.code, ip_address="192.0.2.9", user_agent="x", http_accept="*/*"
    )
    rating = TicketRatingFactory(ticket=ticket, comment="Marco at Officina Rossi was patient.")
    ask(customer_client)
    erasure = ErasureRequest.objects.get()
    address, number = customer.user.email, ticket.number

    client = Client()  # customer_client is pytest-django's `client`: the manager needs another
    client.force_login(staff_with_role(MANAGERS, "giulia"))
    confirm_page = client.post(
        reverse(CHANGELIST), {"action": "confirm_erasures", "_selected_action": [erasure.pk]}
    )
    assert "This cannot be undone." in confirm_page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(CHANGELIST),
            {
                "action": "confirm_erasures",
                "_selected_action": [erasure.pk],
                "apply": "1",
                "confirm": "on",
            },
        )
    assert response.status_code == 302

    erasure.refresh_from_db()
    assert erasure.status == ErasureRequest.Status.CONFIRMED
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.number, ticket.subject, ticket.vehicle_description) == (number, "[erased]", "")
    rating.refresh_from_db()
    assert rating.comment == ""  # the answer stays in the figures, the customer's words go
    assert ticket.serial_number  # the tool's record stays
    bodies = set(ticket.events.exclude(body="").values_list("body", flat=True))
    assert bodies == {"[erased]"}
    assert not Attachment.objects.exists()
    assert not (private_root / "photo.jpg").exists()
    assert not AccessLog.objects.filter(username=customer.code).exists()
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert (customer.company, customer.contact_name, customer.user.email) == ("[erased]", "", "")
    assert not customer.user.is_active
    # The audit trail: every earlier entry kept, the erasure's suspension added.
    assert audit_before <= set(LogEntry.objects.values_list("pk", flat=True))
    assert LogEntry.objects.count() > len(audit_before)
    (message,) = mail.outbox
    assert message.to == [address]
    assert customer.code in message.body

    # The customer can no longer log in, and its old session is gone.
    assert customer_client.get(reverse("tickets:personal-data")).status_code == 302
    login = Client().post(
        reverse("customers:login"), {"username": customer.code, "password": PASSWORD}
    )
    assert login.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in login.wsgi_request.session


def test_a_manager_refuses_with_a_reason(
    customer_client, customer, ticket, django_capture_on_commit_callbacks
):
    ask(customer_client)
    erasure = ErasureRequest.objects.get()
    client = Client()  # customer_client is pytest-django's `client`: the manager needs another
    client.force_login(staff_with_role(MANAGERS, "giulia"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse(CHANGELIST),
            {
                "action": "refuse_erasures",
                "_selected_action": [erasure.pk],
                "apply": "1",
                "reason": "Ticket under warranty dispute.",
            },
        )
    erasure.refresh_from_db()
    assert (erasure.status, erasure.refusal_reason) == ("refused", "Ticket under warranty dispute.")
    assert "Ticket under warranty dispute." in mail.outbox[0].body
    assert Ticket.objects.get(pk=ticket.pk).subject == "Blank display"
    assert customer_client.get(reverse("tickets:personal-data")).status_code == 200


def test_operators_cannot_see_or_decide_erasures(customer_client):
    ask(customer_client)
    client = Client()
    client.force_login(staff_with_role(OPERATORS, "luca"))
    assert client.get(reverse(CHANGELIST)).status_code == 403
