"""Every refused ticket form: a clear message, status 400, and nothing half-saved."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import make_image, stored_files, ticket_post_data, ticket_submit
from tests.customers.factories import CustomerFactory, UnitFactory
from tests.products.factories import DatabankFactory
from tests.tickets.pages import form_token
from tickets.models import Attachment, Ticket, TicketCounter, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

CREATE = reverse("tickets:create")


def counter_value() -> int:
    counter = TicketCounter.objects.filter(name="ticket").first()
    return counter.last_number if counter else 0


def text_file(name, content=b"hello\n"):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


# Each rule of the form and of the service, with the message the customer must see.
CREATE_CASES = {
    "no target": ({"target": ""}, "This field is required."),
    "unknown target": ({"target": "unit:999999"}, "Select a valid choice."),
    "garbage target": ({"target": "foo"}, "Select a valid choice."),
    "bad kind": ({"kind": "praise"}, "Select a valid choice."),
    "french support": ({"language": "fr"}, "Select a valid choice."),
    "no subject": ({"subject": "  "}, "This field is required."),
    "long subject": ({"subject": "x" * 151}, "at most 150 characters"),
    "no description": ({"description": ""}, "This field is required."),
    "no vehicle nor ecu": (
        {"vehicle_description": "", "ecu_description": ""},
        "Describe the vehicle or the ECU you are working on.",
    ),
    "no screenshot nor error text": (
        {"error_message": ""},
        "Attach a screenshot of the error or, failing that, copy the error message.",
    ),
    "long vehicle": ({"vehicle_description": "x" * 201}, "at most 200 characters"),
    "long vin": ({"vehicle_identification": "x" * 101}, "at most 100 characters"),
    "long version": ({"software_version": "x" * 41}, "at most 40 characters"),
    "terms not accepted": ({"accept_terms": ""}, "You must accept the terms to submit a ticket."),
    "terms version missing": (
        {"terms_version": ""},
        "The terms have changed: read and accept the current version.",
    ),
    "terms version unknown": (
        {"terms_version": "999999"},
        "The terms have changed: read and accept the current version.",
    ),
    "bad screenshot": (
        {"screenshots": text_file("shot.png")},
        "“shot.png” is not a valid PNG image, or it is damaged.",
    ),
    "exe as log": ({"log_files": text_file("tool.exe")}, "this type of file is not accepted"),
    "fake zip": ({"other_files": text_file("logs.zip")}, "“logs.zip” is not really a ZIP file."),
}


@pytest.mark.parametrize("case", CREATE_CASES)
def test_create_refuses_bad_input_and_saves_nothing(
    customer_client, unit, terms, private_media, case
):
    overrides, message = CREATE_CASES[case]
    data = ticket_post_data(unit, terms, **overrides)
    if overrides.get("accept_terms") == "":
        del data["accept_terms"]
    before = counter_value()
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'id="form-errors"' in page
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()
    assert counter_value() == before
    assert not Attachment.objects.exists()
    assert stored_files(private_media) == []
    # What the customer typed comes back.
    if case != "no subject" and case != "long subject":
        assert "Write fails at 87%" in page


def test_unit_of_another_customer_cannot_be_chosen(customer_client, terms):
    theirs = UnitFactory(customer=CustomerFactory())
    response = customer_client.post(CREATE, ticket_post_data(theirs, terms))
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_product_with_serials_cannot_be_chosen_without_a_unit(customer_client, unit, terms):
    response = customer_client.post(
        CREATE, ticket_post_data(unit, terms, target=f"product:{unit.product.pk}")
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert not Ticket.objects.exists()


def test_databank_ticket_still_needs_the_problem_fields(customer_client, unit, terms):
    databank = DatabankFactory()
    data = ticket_post_data(
        unit, terms, target=f"product:{databank.pk}", vehicle_description="", ecu_description=""
    )
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    assert "Describe the vehicle or the ECU" in response.content.decode()


def test_too_many_files_is_refused(customer_client, unit, terms, settings, private_media):
    settings.ATTACHMENT_MAX_COUNT = 2
    data = ticket_post_data(
        unit,
        terms,
        screenshots=[make_image("a.png"), make_image("b.png")],
        ecu_photos=make_image("c.png"),
    )
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    assert "Too many files: at most 2 per message." in response.content.decode()
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()
    assert stored_files(private_media) == []


def test_too_large_a_file_is_refused(customer_client, unit, terms, settings, private_media):
    settings.ATTACHMENT_MAX_SIZE = 1000
    big = SimpleUploadedFile("big.log", b"x" * 1001)
    response = customer_client.post(CREATE, ticket_post_data(unit, terms, log_files=big))
    assert response.status_code == 400
    assert "“big.log” is 1001\xa0bytes; the limit is 1000\xa0bytes per file." in (
        response.content.decode()
    )
    assert stored_files(private_media) == []


# Staged files: a refused form keeps the files that passed, ticked, for the retry --------------


def test_good_files_are_kept_for_the_retry_and_attached_once(
    customer_client, customer, unit, terms, private_media
):
    data = ticket_post_data(
        unit,
        terms,
        subject="",
        screenshots=make_image("error.png"),
        log_files=SimpleUploadedFile("kess.log", b"log line\n"),
    )
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    staged = list(Attachment.objects.filter(ticket__isnull=True).order_by("original_name"))
    assert [a.original_name for a in staged] == ["error.png", "kess.log"]
    for attachment in staged:
        # The staged file's own checkbox (another field may carry the same number as its value).
        [checkbox] = re.findall(
            rf'<input type="checkbox" name="staged" value="{attachment.pk}"[^>]*>', page
        )
        assert "checked" in checkbox
    assert "error.png" in page
    assert not Ticket.objects.exists()
    files_after_first_try = stored_files(private_media)
    assert len(files_after_first_try) == 3  # two files and the screenshot's thumbnail

    retry = ticket_post_data(
        unit, terms, staged=[a.pk for a in staged], form_token=form_token(page)
    )
    response = customer_client.post(CREATE, retry)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert sorted(ticket.attachments.values_list("original_name", flat=True)) == [
        "error.png",
        "kess.log",
    ]
    assert not Attachment.objects.filter(ticket__isnull=True).exists()
    assert stored_files(private_media) == files_after_first_try


def test_a_staged_screenshot_satisfies_the_screenshot_rule(customer_client, unit, terms):
    data = ticket_post_data(unit, terms, subject="", error_message="", screenshots=make_image())
    page = customer_client.post(CREATE, data).content.decode()
    staged = Attachment.objects.get(ticket__isnull=True)
    retry = ticket_post_data(
        unit, terms, error_message="", staged=[staged.pk], form_token=form_token(page)
    )
    assert customer_client.post(CREATE, retry).status_code == 302


def test_unticked_staged_files_are_left_out(customer_client, unit, terms):
    data = ticket_post_data(unit, terms, subject="", log_files=SimpleUploadedFile("a.log", b"a"))
    customer_client.post(CREATE, data)
    assert customer_client.post(CREATE, ticket_post_data(unit, terms)).status_code == 302
    assert not Ticket.objects.get().attachments.exists()


def test_bad_files_are_not_kept_only_good_ones(customer_client, unit, terms, private_media):
    data = ticket_post_data(
        unit,
        terms,
        screenshots=make_image("good.png"),
        other_files=text_file("evil.pdf"),
    )
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    assert "“evil.pdf” is not really a PDF file." in response.content.decode()
    assert list(Attachment.objects.values_list("original_name", flat=True)) == ["good.png"]
    assert len(stored_files(private_media)) == 2  # good.png and its thumbnail


def test_another_customers_staged_file_cannot_be_claimed(customer_client, unit, terms):
    other = CustomerFactory()
    from tickets.attachments import attachments_stage
    from tickets.uploads import clean_upload

    [theirs] = attachments_stage(
        user=other.user, files=[("other", clean_upload(text_file("x.log")))]
    )
    response = customer_client.post(CREATE, ticket_post_data(unit, terms, staged=[theirs.pk]))
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.ticket is None


# Reply ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": "   "}, "Write a message or attach a file."),
        ({"body": "x", "files": text_file("run.exe")}, "this type of file is not accepted"),
        ({"body": "x", "files": text_file("shot.png")}, "is not a valid PNG image"),
    ],
)
def test_reply_refuses_bad_input_and_saves_nothing(
    customer_client, customer, unit, terms, private_media, data, message
):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    response = customer_client.post(reverse("tickets:reply", args=[ticket.number]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(ticket.events.values_list("kind", flat=True)) == ["submitted"]
    assert stored_files(private_media) == []


def test_too_many_files_keep_nothing_for_the_retry(
    customer_client, customer, unit, terms, settings, private_media
):
    settings.ATTACHMENT_MAX_COUNT = 1
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    response = customer_client.post(
        reverse("tickets:reply", args=[ticket.number]),
        {"body": "x", "files": [make_image("a.png"), make_image("b.png")]},
    )
    assert response.status_code == 400
    assert "Too many files: at most 1 per message." in response.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(private_media) == []


def test_file_sizes_are_checked_on_the_bytes_not_the_name(customer_client, unit, terms):
    payload = io.BytesIO(b"PK\x03\x04" + b"\x00" * 100)
    payload.name = "logs.zip"
    response = customer_client.post(CREATE, ticket_post_data(unit, terms, log_files=payload))
    assert response.status_code == 302
    assert Ticket.objects.get().attachments.get().content_type == "application/zip"
