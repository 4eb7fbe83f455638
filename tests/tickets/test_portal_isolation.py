"""One customer never sees another's tickets, units or files: 404 whatever the URL."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import make_image, ticket_submit
from tests.customers.factories import CustomerFactory, UnitFactory
from tickets.attachments import attachments_stage
from tickets.models import Ticket, TicketEvent
from tickets.uploads import clean_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]


@pytest.fixture
def their_ticket(terms):
    other = CustomerFactory()
    unit = UnitFactory(customer=other)
    return ticket_submit(
        customer=other,
        unit=unit,
        terms=terms,
        subject="Their secret problem",
        files=[("screenshot", clean_upload(make_image("their.png")))],
    )


def test_another_customers_ticket_pages_are_404(customer_client, their_ticket):
    number = their_ticket.number
    assert customer_client.get(reverse("tickets:detail", args=[number])).status_code == 404
    response = customer_client.post(reverse("tickets:reply", args=[number]), {"body": "Hi"})
    assert response.status_code == 404
    assert customer_client.post(reverse("tickets:close", args=[number])).status_code == 404
    their_ticket.refresh_from_db()
    assert their_ticket.status == Ticket.Status.NEW
    assert list(their_ticket.events.values_list("kind", flat=True)) == ["submitted"]
    # A number that does not exist answers the same.
    assert customer_client.get(reverse("tickets:detail", args=[number + 1000])).status_code == 404


@pytest.mark.parametrize("name", ["tickets:attachment", "tickets:attachment-thumbnail"])
def test_another_customers_files_are_404(customer_client, their_ticket, name):
    attachment = their_ticket.attachments.get()
    assert customer_client.get(reverse(name, args=[attachment.pk])).status_code == 404


def test_anonymous_visitors_are_sent_to_login_or_get_404_for_files(client, their_ticket):
    number = their_ticket.number
    login = reverse("customers:login")
    for url in (
        reverse("tickets:detail", args=[number]),
        reverse("tickets:list"),
        reverse("tickets:create"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(login)
    response = client.post(reverse("tickets:reply", args=[number]), {"body": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(login)
    attachment = their_ticket.attachments.get()
    assert client.get(reverse("tickets:attachment", args=[attachment.pk])).status_code == 404
    thumbnail = reverse("tickets:attachment-thumbnail", args=[attachment.pk])
    assert client.get(thumbnail).status_code == 404


def test_owner_and_staff_can_download(client, their_ticket, staff_user):
    attachment = their_ticket.attachments.get()
    url = reverse("tickets:attachment", args=[attachment.pk])
    client.force_login(their_ticket.customer.user)
    assert client.get(url).status_code == 200
    client.force_login(staff_user)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    thumbnail = reverse("tickets:attachment-thumbnail", args=[attachment.pk])
    assert client.get(thumbnail).status_code == 200


def test_staff_cannot_use_the_customer_ticket_pages(client, their_ticket, staff_user):
    client.force_login(staff_user)
    response = client.get(reverse("tickets:detail", args=[their_ticket.number]))
    assert response.status_code == 404


def test_staged_files_are_downloadable_by_their_uploader_only(client, customer):
    [staged] = attachments_stage(
        user=customer.user,
        files=[("log", clean_upload(SimpleUploadedFile("mine.log", b"private\n")))],
    )
    url = reverse("tickets:attachment", args=[staged.pk])
    client.force_login(customer.user)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"private\n"
    client.force_login(CustomerFactory().user)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 404


def test_the_timeline_never_shows_another_tickets_events(customer_client, customer, terms):
    unit = UnitFactory(customer=customer)
    mine = ticket_submit(customer=customer, unit=unit, terms=terms, subject="Mine")
    other = CustomerFactory()
    theirs = ticket_submit(
        customer=other, unit=UnitFactory(customer=other), terms=terms, subject="Theirs"
    )
    TicketEvent.objects.create(ticket=theirs, kind="message", body="THEIR MESSAGE")
    page = customer_client.get(reverse("tickets:detail", args=[mine.number])).content.decode()
    assert "THEIR MESSAGE" not in page
    home = customer_client.get(reverse("tickets:home")).content.decode()
    assert "Mine" in home
    assert "Theirs" not in home


def test_another_customers_file_is_404_whatever_the_url(customer_client, their_ticket):
    """By id, by thumbnail, by the stored name under any public prefix: never served."""
    attachment = their_ticket.attachments.get()
    stored = attachment.file.name
    urls = [
        reverse("tickets:attachment", args=[attachment.pk]),
        reverse("tickets:attachment-thumbnail", args=[attachment.pk]),
        f"/files/{attachment.pk}",  # without the slash: redirected, then 404
        f"/files/{attachment.pk}/?download=1",
        f"/media/{stored}",
        f"/unused/{stored}",
        f"/static/{stored}",
        f"/var/private/{stored}",
        f"/static/../var/private/{stored}",
        f"/files/{stored}",
    ]
    for url in urls:
        response = customer_client.get(url, follow=True)
        assert response.status_code == 404, url
        assert b"Their secret problem" not in response.content


def test_a_thumbnail_that_does_not_exist_is_404_even_for_the_owner(client, customer, terms):
    unit = UnitFactory(customer=customer)
    ticket = ticket_submit(
        customer=customer,
        unit=unit,
        terms=terms,
        files=[("log", clean_upload(SimpleUploadedFile("tool.log", b"log\n")))],
    )
    client.force_login(customer.user)
    log = ticket.attachments.get()
    assert client.get(reverse("tickets:attachment", args=[log.pk])).status_code == 200
    assert client.get(reverse("tickets:attachment-thumbnail", args=[log.pk])).status_code == 404


def test_another_customers_unit_cannot_be_preselected_or_reported(customer_client, terms):
    theirs = UnitFactory(serial_number="THEIRS-001")
    page = customer_client.get(reverse("tickets:create"), {"unit": theirs.pk}).content.decode()
    assert "THEIRS-001" not in page
    assert f'value="unit:{theirs.pk}"' not in page
    assert "THEIRS-001" not in customer_client.get(reverse("customers:units")).content.decode()
    url = reverse("customers:unit-report-lost", args=[theirs.pk])
    assert customer_client.get(url).status_code == 404
    response = customer_client.post(url, {"status": "lost", "details": "x", "confirm": "on"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_lost_or_stolen
