import pytest
from django.urls import reverse

from tests.conftest import make_image, ticket_post_data
from tests.customers.factories import PASSWORD
from tickets.models import Attachment, Ticket, TicketEvent

# The calendar has its own tests; this journey must not depend on the hour it runs at.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]


def test_customer_logs_in_opens_follows_replies_and_closes_a_ticket(client, unit, terms):
    customer = unit.customer
    response = client.post(
        reverse("customers:login"), {"username": customer.code.lower(), "password": PASSWORD}
    )
    assert response.status_code == 302

    data = ticket_post_data(unit, terms, screenshots=make_image())
    response = client.post(reverse("tickets:create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("tickets:detail", args=[ticket.number])
    assert ticket.serial_number == unit.serial_number
    assert ticket.terms_version == terms
    assert ticket.attachments.get().kind == Attachment.Kind.SCREENSHOT

    page = client.get(response["Location"])
    assert f"#{ticket.number}" in page.content.decode()
    assert "Write fails at 87%" in page.content.decode()

    response = client.post(
        reverse("tickets:reply", args=[ticket.number]), {"body": "More details here."}
    )
    assert response.status_code == 302
    assert ticket.events.filter(kind=TicketEvent.Kind.MESSAGE, body="More details here.").exists()

    response = client.post(reverse("tickets:close", args=[ticket.number]))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == ["submitted", "message", "closed"]


def test_login_by_email_works_too(client, customer):
    response = client.post(
        reverse("customers:login"), {"username": customer.user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("tickets:list")).status_code == 200
