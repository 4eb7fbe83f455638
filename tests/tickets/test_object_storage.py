"""Attachments in a real S3 API (moto's server, tests/s3server.py): stored, served, deleted.

Each test gets a fresh bucket as its default storage (`s3_bucket`); the tests marked with
`any_storage` run once on the local folder and once on a bucket, and must see the same.
"""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from core.storage import is_s3
from customers.models import PersonalDataExport
from tests.conftest import (
    assert_private_download,
    make_image,
    stored_files,
    ticket_post_data,
    ticket_submit,
)
from tests.customers.factories import PASSWORD
from tests.tickets.pages import form_token
from tickets.attachments import attachments_staged_sweep
from tickets.models import Attachment, Ticket
from tickets.personal_data import erasure_request_confirm, erasure_request_create
from tickets.uploads import clean_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

CREATE = reverse("tickets:create")
PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}


def log_file(name="kess.log", data=b"line 1\nline 2\n"):
    return SimpleUploadedFile(name, data, content_type="text/plain")


def attachment_url(attachment, *, thumbnail=False):
    name = "tickets:attachment-thumbnail" if thumbnail else "tickets:attachment"
    return reverse(name, args=[attachment.pk])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def names(attachment) -> list[str]:
    return sorted(n for n in (attachment.file.name, attachment.thumbnail.name) if n)


def submit_with(customer, unit, terms, *files):
    return ticket_submit(customer=customer, unit=unit, terms=terms, files=list(files))


def test_the_bucket_fixture_makes_the_default_storage_s3(s3_server, s3_bucket):
    assert is_s3(default_storage)
    name = default_storage.save("probe/hello.txt", ContentFile(b"hello"))
    assert s3_server.keys(s3_bucket) == [name]
    # Never overwritten: the same name again gets an object of its own.
    other = default_storage.save("probe/hello.txt", ContentFile(b"again"))
    assert other != name
    assert s3_server.keys(s3_bucket) == sorted([name, other])


# Upload -----------------------------------------------------------------------------------------


def test_a_new_tickets_photo_and_its_thumbnail_go_to_the_bucket(
    customer_client, unit, terms, s3_server, s3_bucket, private_media
):
    photo = make_image("officina.jpg", image_format="JPEG", size=(640, 480))
    response = customer_client.post(CREATE, ticket_post_data(unit, terms, ecu_photos=photo))
    assert response.status_code == 302

    attachment = Attachment.objects.get()
    assert attachment.file.name.startswith("attachments/")
    assert attachment.thumbnail.name
    assert s3_server.keys(s3_bucket) == names(attachment)
    assert stored_files(private_media) == []  # nothing on the local disk
    assert attachment.size == attachment.file.size

    thumbnail = customer_client.get(attachment_url(attachment, thumbnail=True))
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(body(thumbnail)))
    assert image.format == "JPEG"
    assert max(image.size) < 640


def test_a_reply_with_a_file_goes_to_the_bucket(customer_client, ticket, s3_server, s3_bucket):
    response = customer_client.post(
        reverse("tickets:reply", args=[ticket.number]),
        {"body": "The LOG.", "files": [log_file(data=b"ERR 0x42\n")]},
    )
    assert response.status_code == 302
    attachment = ticket.attachments.get()
    assert s3_server.keys(s3_bucket) == [attachment.file.name]
    download = customer_client.get(attachment_url(attachment))
    assert body(download) == b"ERR 0x42\n"


# Download ---------------------------------------------------------------------------------------


def test_download_headers_are_the_same_from_disk_and_bucket(
    any_storage, customer_client, customer, unit, terms
):
    ticket = submit_with(customer, unit, terms, ("screenshot", clean_upload(make_image("s è.png"))))
    attachment = ticket.attachments.get()
    response = customer_client.get(attachment_url(attachment))
    assert_private_download(response, filename_star="s%20%C3%A8.png", content_type="image/png")
    content = body(response)
    assert int(response["Content-Length"]) == len(content) == attachment.size
    with attachment.file.open("rb") as stored:
        assert stored.read() == content

    thumb = customer_client.get(attachment_url(attachment, thumbnail=True))
    assert thumb["Content-Type"] == "image/jpeg"
    assert thumb["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in thumb["Content-Security-Policy"]


def test_a_text_file_from_the_bucket_is_downloaded_not_shown(
    customer_client, customer, unit, terms, s3_bucket
):
    ticket = submit_with(customer, unit, terms, ("log", clean_upload(log_file("trace.txt"))))
    response = customer_client.get(attachment_url(ticket.attachments.get()))
    assert response["Content-Disposition"].startswith('attachment; filename="trace.txt"')
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_large_file_is_streamed_from_the_bucket_in_chunks(
    customer_client, customer, unit, terms, s3_bucket
):
    data = b"0x42 write block 1234 failed, retrying\n" * 80_000  # about 3 MB of LOG
    ticket = submit_with(customer, unit, terms, ("log", clean_upload(log_file("dump.log", data))))
    response = customer_client.get(attachment_url(ticket.attachments.get()))
    chunks = list(response.streaming_content)
    assert len(chunks) > 1
    assert b"".join(chunks) == data


def test_another_customer_gets_a_404_from_the_bucket_too(client, customer, unit, terms, s3_bucket):
    from tests.customers.factories import CustomerFactory

    ticket = submit_with(customer, unit, terms, ("log", clean_upload(log_file())))
    client.force_login(CustomerFactory().user)
    assert client.get(attachment_url(ticket.attachments.get())).status_code == 404


def test_a_file_missing_from_the_storage_is_a_404(
    any_storage, customer_client, customer, unit, terms
):
    ticket = submit_with(customer, unit, terms, ("screenshot", clean_upload(make_image())))
    attachment = ticket.attachments.get()
    default_storage.delete(attachment.file.name)
    default_storage.delete(attachment.thumbnail.name)
    assert customer_client.get(attachment_url(attachment)).status_code == 404
    assert customer_client.get(attachment_url(attachment, thumbnail=True)).status_code == 404


# Staged uploads and deletion --------------------------------------------------------------------


def test_files_kept_for_a_retry_live_in_the_bucket_until_sent_or_swept(
    customer_client, customer, unit, terms, s3_server, s3_bucket
):
    refused = customer_client.post(
        CREATE,
        ticket_post_data(
            unit, terms, subject="", screenshots=make_image("error.png"), log_files=log_file()
        ),
    )
    assert refused.status_code == 400
    screenshot = Attachment.objects.get(original_name="error.png")
    unwanted = Attachment.objects.get(original_name="kess.log")
    assert s3_server.keys(s3_bucket) == sorted([*names(screenshot), *names(unwanted)])

    data = ticket_post_data(
        unit, terms, staged=[screenshot.pk], form_token=form_token(refused.content.decode())
    )
    assert customer_client.post(CREATE, data).status_code == 302
    ticket = Ticket.objects.get()
    assert list(ticket.attachments.all()) == [screenshot]
    # The file left unticked is deleted with its row, from the bucket too.
    assert s3_server.keys(s3_bucket) == names(screenshot)

    # A staged file nobody sent is swept, object first.
    from tickets.attachments import attachments_stage

    [left] = attachments_stage(
        user=customer.user, files=[("screenshot", clean_upload(make_image("left.png")))]
    )
    assert set(names(left)) <= set(s3_server.keys(s3_bucket))
    assert attachments_staged_sweep(max_age=timedelta(0)) == 1
    assert s3_server.keys(s3_bucket) == names(screenshot)


def test_the_same_file_chosen_again_on_a_retry_is_read_back_from_the_bucket(
    customer_client, unit, terms, s3_server, s3_bucket
):
    first = customer_client.post(
        CREATE, ticket_post_data(unit, terms, subject="", log_files=log_file())
    )
    assert first.status_code == 400
    [kept] = Attachment.objects.filter(ticket__isnull=True)
    # The same file is chosen again and the kept one ticked: it is sent once.
    data = ticket_post_data(
        unit,
        terms,
        staged=[kept.pk],
        log_files=log_file(),
        form_token=form_token(first.content.decode()),
    )
    assert customer_client.post(CREATE, data).status_code == 302
    assert Ticket.objects.get().attachments.count() == 1
    assert s3_server.keys(s3_bucket) == [kept.file.name]


def test_an_erasure_deletes_the_customers_objects(
    customer, unit, terms, manager, s3_server, s3_bucket, django_capture_on_commit_callbacks
):
    submit_with(customer, unit, terms, ("screenshot", clean_upload(make_image())))
    assert len(s3_server.keys(s3_bucket)) == 2
    erasure = erasure_request_create(customer=customer, user=customer.user, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        erasure_request_confirm(erasure=erasure, by=manager)
    assert not Attachment.objects.exists()
    assert s3_server.keys(s3_bucket) == []


# The personal-data archive ----------------------------------------------------------------------


def test_the_personal_data_archive_is_built_from_and_into_the_bucket(
    customer_client, customer, unit, terms, s3_server, s3_bucket, django_capture_on_commit_callbacks
):
    submit_with(customer, unit, terms, ("log", clean_upload(log_file(data=b"ERR 1\n"))))
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(reverse("tickets:personal-data-export"))
    export = PersonalDataExport.objects.get()
    assert export.status == PersonalDataExport.Status.READY
    assert export.file.name in s3_server.keys(s3_bucket)

    url = reverse("tickets:personal-data-download", args=[export.pk])
    response = customer_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    [entry] = json.loads(archive.read("data.json"))["tickets"][0]["files"]
    assert archive.read(entry["in_archive"]) == b"ERR 1\n"

    default_storage.delete(export.file.name)
    assert customer_client.get(url).status_code == 404


# Nothing public ---------------------------------------------------------------------------------


def test_no_page_names_the_bucket(
    customer_client, operator, customer, unit, terms, s3_server, s3_bucket
):
    ticket = submit_with(customer, unit, terms, ("screenshot", clean_upload(make_image())))
    staff = Client()
    staff.force_login(operator)
    pages = [
        customer_client.get(reverse("tickets:detail", args=[ticket.number])),
        staff.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])),
        staff.get(reverse("admin:tickets_attachment_change", args=[ticket.attachments.get().pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert reverse("tickets:attachment", args=[ticket.attachments.get().pk]) in text
        for secret in (s3_server.endpoint_url, f":{s3_server.port}", s3_bucket, "X-Amz-"):
            assert secret not in text


def test_neither_bucket_nor_objects_grant_anything_to_the_public(
    customer, unit, terms, s3_server, s3_bucket
):
    ticket = submit_with(customer, unit, terms, ("screenshot", clean_upload(make_image())))
    client = s3_server.client()
    grants = client.get_bucket_acl(Bucket=s3_bucket)["Grants"]
    for key in names(ticket.attachments.get()):
        grants += client.get_object_acl(Bucket=s3_bucket, Key=key)["Grants"]
    assert grants
    assert not [g for g in grants if g["Grantee"].get("URI") in PUBLIC_GRANTEES]
    # A URL the storage builds, if anything ever asked for one, is signed and short-lived.
    url = default_storage.url(ticket.attachments.get().file.name)
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=60" in url


def test_staff_download_an_e_mails_original_from_the_bucket(
    answered, operator, s3_server, s3_bucket
):
    from tests.tickets.inbound_mail import reply
    from tickets.inbound.services import inbound_mail_receive

    kept = inbound_mail_receive(raw=reply(answered, "Chi sono?", sender="x@else.example.com"))
    assert kept.original.name in s3_server.keys(s3_bucket)
    staff = Client()
    staff.force_login(operator)
    url = f"/admin/tickets/inboundmail/{kept.pk}/original/"
    original = staff.get(url)
    assert original.status_code == 200
    assert original["Content-Type"] == "message/rfc822"
    assert b"Chi sono?" in body(original)
    default_storage.delete(kept.original.name)
    assert staff.get(url).status_code == 404
