"""Each file is labelled by what it is, on the customer's page and on the staff's (issue 16.5)."""

import importlib
import re

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.conftest import make_image, ticket_post_data
from tickets.models import Attachment, Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

SCREENSHOT = "Screenshot of the error"


def files_shown(page: str) -> dict[str, str]:
    """Each file listed on a ticket page (customer's or staff's): name → its label."""
    return dict(
        re.findall(
            r"<span>([^<]+)</span>\s*</a>\s*<span class=\"(?:muted|quiet)\">([^·<]+?) ·", page
        )
    )


def text_file(name, data=b"line 1\n", content_type="text/plain"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def pdf(name="manual.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 a manual", content_type="application/pdf")


def customer_page(client, ticket):
    return client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()


def staff_page(client, ticket):
    return client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()


def test_the_new_ticket_forms_files_keep_the_kind_chosen(customer_client, unit, terms):
    data = ticket_post_data(
        unit,
        terms,
        screenshots=make_image("error.png"),
        ecu_photos=make_image("ecu.png", color="green"),
        connection_photos=make_image("cables.png", color="blue"),
        log_files=text_file("kess.log"),
        other_files=pdf("invoice.pdf"),
    )
    assert customer_client.post(reverse("tickets:create"), data).status_code == 302
    assert files_shown(customer_page(customer_client, Ticket.objects.get())) == {
        "error.png": SCREENSHOT,
        "ecu.png": "Photo of the ECU",
        "cables.png": "Photo of the connections",
        "kess.log": "Tool LOG file",
        "invoice.pdf": "Other file",
    }


def test_a_customers_reply_labels_its_files_by_type(customer_client, ticket, operator):
    files = [make_image("photo.png"), text_file("kess.log"), text_file("notes.txt"), pdf()]
    response = customer_client.post(
        reverse("tickets:reply", args=[ticket.number]), {"body": "Files.", "files": files}
    )
    assert response.status_code == 302
    expected = {
        "photo.png": "Image",
        "kess.log": "Tool LOG file",
        "notes.txt": "Document",
        "manual.pdf": "Document",
    }
    assert files_shown(customer_page(customer_client, ticket)) == expected
    staff = Client()
    staff.force_login(operator)
    assert files_shown(staff_page(staff, ticket)) == expected


def test_an_operators_files_are_labelled_by_type(client, customer, ticket, operator):
    client.force_login(operator)
    response = client.post(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        {
            "_ticket_action": "reply",
            "reply-body": "Here is the procedure.",
            "reply-visibility": "public",
            "reply-new_status": Ticket.Status.ANSWERED,
            "reply-files": [make_image("wiring.png"), pdf("procedure.pdf")],
        },
    )
    assert response.status_code == 302
    expected = {"wiring.png": "Image", "procedure.pdf": "Document"}
    assert files_shown(staff_page(client, ticket)) == expected
    client.force_login(customer.user)
    page = customer_page(client, ticket)
    assert files_shown(page) == expected
    assert SCREENSHOT not in page


def test_the_migration_relabels_files_added_to_messages_only(customer, ticket, operator):
    migration = importlib.import_module("tickets.migrations.0010_attachment_kind_by_type")
    submitted = ticket.events.get(kind=TicketEvent.Kind.SUBMITTED)
    reply = TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.MESSAGE, author=operator
    )

    def attachment(event, kind, name, content_type):
        return Attachment.objects.create(
            ticket=ticket,
            event=event,
            uploaded_by=event.author,
            kind=kind,
            file=f"attachments/x/{name}",
            original_name=name,
            content_type=content_type,
            size=1,
        )

    rows = {
        "sent.png": attachment(submitted, "screenshot", "sent.png", "image/png"),
        "sent.pdf": attachment(submitted, "other", "sent.pdf", "application/pdf"),
        "reply.png": attachment(reply, "screenshot", "reply.png", "image/png"),
        "reply.pdf": attachment(reply, "other", "reply.pdf", "application/pdf"),
        "reply.log": attachment(reply, "other", "reply.log", "text/plain"),
        "kept.log": attachment(reply, "log", "kept.log", "text/plain"),
    }

    migration.label_by_type(apps, None)
    kinds = {name: Attachment.objects.get(pk=row.pk).kind for name, row in rows.items()}
    assert kinds == {
        "sent.png": "screenshot",
        "sent.pdf": "other",
        "reply.png": "image",
        "reply.pdf": "document",
        "reply.log": "log",
        "kept.log": "log",
    }

    migration.label_as_before(apps, None)
    kinds = {name: Attachment.objects.get(pk=row.pk).kind for name, row in rows.items()}
    assert kinds["reply.png"] == "screenshot"
    assert kinds["reply.pdf"] == "other"
