"""The workshop's personal data taken away (§11): the archive asked for, built, served, expired."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessLog
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from customers.models import PersonalDataExport
from tests.customers.factories import CustomerFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment, TicketEvent

pytestmark = pytest.mark.django_db

PAGE = "tickets:personal-data"


@pytest.fixture
def private_root(_private_media):
    return _private_media


@pytest.fixture
def held(customer, _private_media):
    """A ticket with a reply, a file named like a path, a file of the same name, a log-in."""
    ticket = TicketFactory(customer=customer, subject="Blank display on the ECU")
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.MESSAGE,
        author=customer.user,
        body="The display stays blank after the update.",
    )
    for stored, content in (("a.log", b"LOG ONE"), ("b.log", b"LOG TWO")):
        (_private_media / stored).write_bytes(content)
        Attachment.objects.create(
            ticket=ticket,
            event=event,
            uploaded_by=customer.user,
            kind=Attachment.Kind.LOG,
            file=stored,
            original_name="../tool.log",
            content_type="text/plain",
            size=len(content),
        )
    AccessLog.objects.create(
        username=customer.code,
        ip_address="192.0.2.44",
        user_agent="Phone browser",
        http_accept="*/*",
        path_info="/account/login/",
    )
    return ticket


def prepare(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("tickets:personal-data-export"))
    assert response.status_code == 302
    return PersonalDataExport.objects.get()


def test_the_archive_holds_the_account_tickets_messages_files_log_ins_and_consents(
    customer_client, customer, held, django_capture_on_commit_callbacks
):
    export = prepare(customer_client, django_capture_on_commit_callbacks)
    assert export.status == PersonalDataExport.Status.READY
    assert (export.done, export.total) == (3, 3)  # one ticket, two files

    status = customer_client.get(reverse("tickets:personal-data-export-status")).json()
    assert status["status"] == "ready"
    assert status["percent"] == 100
    page = customer_client.get(reverse(PAGE)).content.decode()
    assert status["download_url"] in page

    response = customer_client.get(status["download_url"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert customer.code in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    data = json.loads(archive.read("data.json"))
    assert set(data) >= {
        "account",
        "members",
        "units",
        "tickets",
        "login_records",
        "consents",
    }
    assert data["account"]["customer_code"] == customer.code
    assert data["members"][0]["email"] == customer.user.email
    assert data["units"][0]["serial_number"] == held.serial_number
    (ticket,) = data["tickets"]
    assert ticket["number"] == held.number
    assert ticket["rating"] is None  # no answer to "How did we do?" given
    assert "The display stays blank after the update." in [m["text"] for m in ticket["messages"]]
    names = [f["in_archive"] for f in ticket["files"]]
    # Made safe (no path), and unique within the ticket.
    assert names == [f"files/{held.number}/tool.log", f"files/{held.number}/tool-2.log"]
    assert {archive.read(name) for name in names} == {b"LOG ONE", b"LOG TWO"}
    assert "192.0.2.44" in [row["ip_address"] for row in data["login_records"]["log_ins"]]
    assert data["consents"] == [
        {
            "ticket": held.number,
            "terms_version": held.terms_version.version,
            "accepted_at": held.terms_accepted_at.isoformat(),
        }
    ]


def test_the_page_shows_the_progress_of_an_archive_being_prepared(customer_client, customer):
    PersonalDataExport.objects.create(
        customer=customer,
        requested_by=customer.user,
        status=PersonalDataExport.Status.RUNNING,
        done=30,
        total=120,
    )
    status = customer_client.get(reverse("tickets:personal-data-export-status")).json()
    assert (status["status"], status["done"], status["total"], status["percent"]) == (
        "running",
        30,
        120,
        25,
    )
    page = customer_client.get(reverse(PAGE)).content.decode()
    assert '<progress max="100" value="25"' in page
    # Without JavaScript: a link to look again; with it, the static script follows the progress.
    assert "Refresh to see whether it is ready" in page
    assert "js/personal_data.js" in page
    assert "<script>" not in page


def test_one_archive_at_a_time(customer_client, customer):
    # The worker has not started the first one yet (the commit hooks are not run here).
    customer_client.post(reverse("tickets:personal-data-export"))
    response = customer_client.post(reverse("tickets:personal-data-export"), follow=True)
    assert "Your archive is already being prepared." in response.content.decode()
    assert PersonalDataExport.objects.filter(customer=customer).count() == 1


def test_a_ready_archive_is_not_prepared_again_before_it_expires(
    customer_client, held, django_capture_on_commit_callbacks
):
    prepare(customer_client, django_capture_on_commit_callbacks)
    response = customer_client.post(reverse("tickets:personal-data-export"), follow=True)
    assert "Your archive is ready: download it below." in response.content.decode()
    assert PersonalDataExport.objects.count() == 1


def test_another_customer_gets_a_404(
    client, customer_client, held, django_capture_on_commit_callbacks
):
    export = prepare(customer_client, django_capture_on_commit_callbacks)
    client.force_login(CustomerFactory().user)
    url = reverse("tickets:personal-data-download", args=[export.pk])
    assert client.get(url).status_code == 404


def test_the_archive_expires_and_the_sweep_deletes_it(
    customer_client, held, settings, private_root, django_capture_on_commit_callbacks
):
    settings.PERSONAL_DATA_EXPORT_HOURS = 48
    export = prepare(customer_client, django_capture_on_commit_callbacks)
    url = reverse("tickets:personal-data-download", args=[export.pk])
    stored = private_root / export.file.name
    assert stored.exists()
    with time_machine.travel(timezone.now() + timedelta(hours=47)):
        assert customer_client.get(url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=48, minutes=1)):
        assert customer_client.get(url).status_code == 404
        assert (
            "Your last archive has expired" in customer_client.get(reverse(PAGE)).content.decode()
        )
        call_command("personal_data_sweep", stdout=io.StringIO())
    assert not stored.exists()
    export.refresh_from_db()
    assert (export.status, export.file.name) == (PersonalDataExport.Status.EXPIRED, "")
    # A new archive can be asked for once the old one is gone.
    prepare_again = customer_client.post(reverse("tickets:personal-data-export"))
    assert prepare_again.status_code == 302
    assert PersonalDataExport.objects.filter(status="pending").count() == 1
