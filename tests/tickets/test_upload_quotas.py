"""What a refused form may store, the quota of files waiting for a retry, and the refusal pages."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from schedule import gate
from tests.conftest import make_image, pin_service_status, stored_files, ticket_post_data
from tests.tickets.factories import TicketFactory
from tickets import attachments
from tickets.attachments import attachments_stage
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.services import ticket_reply_staff, ticket_status_change
from tickets.uploads import clean_upload, sizes_display

pytestmark = pytest.mark.django_db

CREATE = reverse("tickets:create")
TOKEN = "0123456789abcdef0123456789abcdef"
MB = 1024 * 1024


@pytest.fixture
def service_closed(monkeypatch):
    """A company closure: the portal answers, but customers cannot write."""
    status = gate.ServiceStatus(
        state=gate.ServiceState.CLOSURE,
        reason="Closed for the summer.",
        next_opening=None,
        at=gate.timezone.now(),
    )
    return pin_service_status(monkeypatch, status)


def is_ticked(page, attachment) -> bool:
    return "checked" in page.split(f'name="staged" value="{attachment.pk}"')[1].split(">")[0]


@pytest.fixture
def no_file_is_decoded(monkeypatch):
    """Fail if a file is read at all: number and size refusals must come before that."""

    def refuse(*args, **kwargs):
        raise AssertionError("a file was decoded although the batch was refused")

    monkeypatch.setattr("tickets.forms.clean_upload", refuse)


def reply_url(ticket):
    return reverse("tickets:reply", args=[ticket.number])


def log_file(name="tool.log", size=10):
    return SimpleUploadedFile(name, b"x" * size, content_type="text/plain")


def stage(user, count=1, size=10, form_token=""):
    files = [("log", clean_upload(log_file(f"old{i}.log", size))) for i in range(count)]
    return attachments_stage(user=user, files=files, form_token=form_token)


def assert_nothing_new_stored(private_media, before=()):
    assert sorted(Attachment.objects.values_list("pk", flat=True)) == sorted(a.pk for a in before)
    expected = sorted(name for a in before for name in (a.file.name, a.thumbnail.name) if name)
    assert stored_files(private_media) == expected


# Refused by number or size: nothing is read, nothing is stored ----------------------------------


@pytest.mark.usefixtures("service_open", "no_file_is_decoded")
def test_a_hundred_images_to_a_reply_are_refused_and_nothing_is_stored(
    customer_client, ticket, private_media
):
    images = [make_image(f"shot{i}.png") for i in range(100)]
    response = customer_client.post(reply_url(ticket), {"body": "See these.", "files": images})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Too many files: at most 10 per message." in page
    assert "See these." in page
    assert list(ticket.events.values_list("kind", flat=True)) == ["submitted"]
    assert_nothing_new_stored(private_media)


@pytest.mark.usefixtures("service_open", "no_file_is_decoded")
def test_files_kept_earlier_count_towards_the_limit(customer_client, customer, unit, terms):
    earlier = stage(customer.user, count=8, form_token=TOKEN)
    data = ticket_post_data(
        unit,
        terms,
        screenshots=[make_image("a.png"), make_image("b.png", color="blue")],
        log_files=log_file(),
        staged=[a.pk for a in earlier],
        form_token=TOKEN,
    )
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Too many files: at most 10 per message." in page
    assert not Ticket.objects.exists()
    # The files kept earlier are still there and still ticked; nothing new joined them.
    assert Attachment.objects.count() == 8
    assert all(is_ticked(page, attachment) for attachment in earlier)


@pytest.mark.usefixtures("service_open", "no_file_is_decoded")
def test_one_file_over_the_size_limit_stores_nothing(customer_client, unit, terms, private_media):
    big = log_file("big.log", size=20 * MB + 1)
    data = ticket_post_data(
        unit, terms, subject="", screenshots=make_image("fine.png"), log_files=big
    )
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    # One byte over: the rounded figures would both read 20.0 MB, so the bytes are shown.
    assert "“big.log” is 20,971,521\xa0bytes; the limit is 20,971,520\xa0bytes per file." in page
    assert "20.0\xa0MB" not in page
    assert_nothing_new_stored(private_media)


@pytest.mark.usefixtures("service_open")
def test_a_reply_with_a_file_too_large_stores_nothing(
    customer_client, ticket, settings, private_media
):
    settings.ATTACHMENT_MAX_SIZE = 3 * MB
    files = [make_image("fine.png"), log_file("big.log", size=5 * MB)]
    response = customer_client.post(reply_url(ticket), {"body": "x", "files": files})
    assert response.status_code == 400
    assert "“big.log” is 5.0\xa0MB; the limit is 3.0\xa0MB per file." in response.content.decode()
    assert_nothing_new_stored(private_media)


@pytest.mark.parametrize(
    ("size", "limit", "shown"),
    [
        pytest.param(
            20 * MB + 1,
            20 * MB,
            ("20,971,521\xa0bytes", "20,971,520\xa0bytes"),
            id="one byte over: both in bytes",
        ),
        pytest.param(30 * MB, 20 * MB, ("30.0\xa0MB", "20.0\xa0MB"), id="well over: megabytes"),
        pytest.param(1001, 1000, ("1001\xa0bytes", "1000\xa0bytes"), id="under a megabyte: bytes"),
    ],
)
def test_sizes_are_shown_precisely_enough_to_see_why(size, limit, shown):
    assert sizes_display(size, limit) == shown


# Refused by the service: what may be kept for the retry ----------------------------------------


@pytest.fixture
def suspended(customer):
    type(customer).objects.filter(pk=customer.pk).update(
        is_suspended=True, suspension_reason="Unpaid invoices."
    )
    customer.refresh_from_db()
    return customer


@pytest.mark.parametrize(
    ("calendar", "overrides"),
    [
        ("service_open", {}),
        ("service_open", {"subject": ""}),
        ("service_closed", {}),
    ],
    ids=["valid form", "invalid form", "service closed"],
)
def test_a_suspended_customer_keeps_no_file(
    request, customer_client, suspended, unit, terms, private_media, calendar, overrides
):
    request.getfixturevalue(calendar)
    data = ticket_post_data(
        unit, terms, screenshots=make_image("a.png"), log_files=log_file(), **overrides
    )
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    assert "Your account is suspended" in response.content.decode()
    assert not Ticket.objects.exists()
    assert_nothing_new_stored(private_media)


@pytest.mark.usefixtures("service_closed")
def test_a_suspended_customers_reply_keeps_no_file(
    customer_client, suspended, ticket, private_media
):
    response = customer_client.post(reply_url(ticket), {"body": "x", "files": [make_image()]})
    assert response.status_code == 400
    assert "Your account is suspended" in response.content.decode()
    assert_nothing_new_stored(private_media)


@pytest.mark.usefixtures("service_closed")
def test_a_closed_service_keeps_the_files_within_the_quota(
    customer_client, customer, unit, terms, settings, private_media
):
    settings.ATTACHMENT_STAGED_MAX_COUNT = 3
    earlier = stage(customer.user, count=2)
    two = [make_image("a.png"), make_image("b.png", color="blue")]
    response = customer_client.post(CREATE, ticket_post_data(unit, terms, screenshots=two))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Closed for the summer." in page
    assert (
        "Your new files were not kept for the next attempt: the files waiting from your earlier "
        "attempts (2 of at most 3, 20\xa0bytes of at most 200.0\xa0MB) leave no room for them."
    ) in page
    assert_nothing_new_stored(private_media, before=earlier)

    response = customer_client.post(
        CREATE, ticket_post_data(unit, terms, screenshots=make_image("c.png"))
    )
    assert response.status_code == 400
    [kept] = Attachment.objects.exclude(pk__in=[a.pk for a in earlier])
    assert kept.original_name == "c.png"
    assert is_ticked(response.content.decode(), kept)
    assert len(stored_files(private_media)) == 2 + 2  # two logs, the image and its thumbnail


@pytest.mark.usefixtures("service_closed")
def test_the_quota_counts_bytes_too(customer_client, customer, ticket, settings, private_media):
    settings.ATTACHMENT_STAGED_MAX_SIZE = 1000
    earlier = stage(customer.user, count=1, size=900)
    response = customer_client.post(reply_url(ticket), {"body": "x", "files": [log_file(size=200)]})
    assert response.status_code == 400
    assert "(1 of at most 20, 900\xa0bytes of at most 1000\xa0bytes)" in response.content.decode()
    assert_nothing_new_stored(private_media, before=earlier)


@pytest.mark.usefixtures("service_open")
def test_the_quota_refuses_an_invalid_form_with_a_message(
    customer_client, customer, unit, terms, settings, private_media
):
    settings.ATTACHMENT_STAGED_MAX_COUNT = 1
    earlier = stage(customer.user)
    data = ticket_post_data(unit, terms, subject="", log_files=log_file("new.log"))
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "Your new files were not kept for the next attempt" in page
    assert "files not sent are deleted after 24 hours." in page
    assert_nothing_new_stored(private_media, before=earlier)


@pytest.mark.django_db(transaction=True)
def test_two_forms_sent_together_cannot_overshoot_the_quota(
    require_postgres, customer, settings, monkeypatch
):
    settings.ATTACHMENT_STAGED_MAX_COUNT = 3
    files = [("log", clean_upload(log_file(f"{i}.log"))) for i in range(2)]
    both_checked = threading.Barrier(2, timeout=10)
    real_check = attachments._check_staged_quota
    local = threading.local()

    def check(**kwargs):
        real_check(**kwargs)
        if not getattr(local, "checked", False):
            # Both requests passed the early check before either has saved anything.
            local.checked = True
            both_checked.wait()

    monkeypatch.setattr(attachments, "_check_staged_quota", check)
    results = []

    def send():
        try:
            attachments_stage(user=customer.user, files=files)
            results.append("kept")
        except ValidationError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == ["kept", "refused"]
    assert Attachment.objects.count() == 2


def test_the_quota_holds_on_the_service(customer, settings):
    settings.ATTACHMENT_STAGED_MAX_COUNT = 2
    stage(customer.user, count=2)
    with pytest.raises(ValidationError, match="leave no room"):
        stage(customer.user)
    assert Attachment.objects.count() == 2


# Django's own request limits answer the portal's page ---------------------------------------------


def assert_portal_refusal(response, status, message, form_url=None):
    assert response.status_code == status
    page = response.content.decode()
    assert 'class="site-header"' in page  # the portal's layout, not Django's bare page
    assert message in page
    if form_url:
        assert f'href="{form_url}"' in page


@pytest.mark.usefixtures("service_open")
def test_a_hundred_and_one_files_answer_413_with_the_reason(
    customer_client, unit, terms, ticket, private_media
):
    files = [log_file(f"f{i}.log") for i in range(101)]
    message = (
        "Nothing was sent: the form carried more than 100 files, and a message takes at most 10."
    )
    response = customer_client.post(reply_url(ticket), {"body": "x", "files": files})
    assert_portal_refusal(response, 413, message, form_url=reply_url(ticket))

    files = [log_file(f"f{i}.log") for i in range(101)]
    response = customer_client.post(CREATE, ticket_post_data(unit, terms, log_files=files))
    assert_portal_refusal(response, 413, message, form_url=CREATE)
    assert Ticket.objects.count() == 1
    assert list(ticket.events.values_list("kind", flat=True)) == ["submitted"]
    assert_nothing_new_stored(private_media)


@pytest.mark.usefixtures("service_open")
def test_a_sixty_megabyte_field_answers_413_with_the_reason(
    customer_client, unit, terms, ticket, private_media
):
    huge = "x" * (60 * MB)
    message = "Nothing was sent: the text of the form is larger than 5.0\xa0MB."
    data = ticket_post_data(unit, terms, description=huge, log_files=log_file())
    assert_portal_refusal(customer_client.post(CREATE, data), 413, message, form_url=CREATE)
    response = customer_client.post(reply_url(ticket), {"body": huge, "files": [log_file()]})
    assert_portal_refusal(response, 413, message, form_url=reply_url(ticket))
    assert Ticket.objects.count() == 1
    assert_nothing_new_stored(private_media)


@pytest.mark.usefixtures("service_open")
def test_too_many_fields_answer_400_with_the_reason(customer_client, ticket):
    data = {"body": "x", **{f"field{i}": "1" for i in range(1001)}}
    response = customer_client.post(reply_url(ticket), data)
    assert_portal_refusal(
        response, 400, "Nothing was sent: the form carried more than 1000 fields."
    )
    assert list(ticket.events.values_list("kind", flat=True)) == ["submitted"]


@pytest.mark.usefixtures("service_open")
def test_the_limit_is_explained_when_the_csrf_check_reads_the_form_first(customer, ticket):
    # In production the CSRF middleware reads the form before the view does, and trips first.
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer.user)
    client.get(reverse("tickets:detail", args=[ticket.number]))
    token = client.cookies["csrftoken"].value
    files = [log_file(f"f{i}.log") for i in range(101)]
    response = client.post(
        reply_url(ticket), {"csrfmiddlewaretoken": token, "body": "x", "files": files}
    )
    assert_portal_refusal(response, 413, "the form carried more than 100 files")


def test_any_other_bad_request_gets_the_portal_page(client):
    response = client.get("/", HTTP_HOST="not-ours.example")
    assert_portal_refusal(response, 400, "The request could not be understood")


# Statuses an operator may set --------------------------------------------------------------------


@pytest.mark.parametrize("status", ["bogus", Ticket.Status.CLOSED])
def test_a_staff_reply_refuses_a_status_it_cannot_set(operator, status):
    ticket = TicketFactory()
    with pytest.raises(ValidationError) as caught:
        ticket_reply_staff(ticket=ticket, operator=operator, body="Done.", new_status=status)
    assert "new_status" in caught.value.message_dict
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW
    assert ticket.assigned_to is None  # not even taken in charge
    assert list(ticket.events.values_list("kind", flat=True)) == ["submitted"]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("bogus", "“bogus” is not a status an operator can set."),
        (Ticket.Status.CLOSED, "A ticket is closed with its own action"),
    ],
)
def test_a_status_change_refuses_a_status_it_cannot_set(operator, status, message):
    ticket = TicketFactory()
    with pytest.raises(ValidationError, match=message) as caught:
        ticket_status_change(ticket=ticket, operator=operator, status=status)
    assert "status" in caught.value.message_dict
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW
    assert ticket.closed_at is None
    assert ticket.events.count() == 1


def test_every_open_status_can_still_be_set(operator):
    ticket = TicketFactory()
    for status in (Ticket.Status.WAITING_CUSTOMER, Ticket.Status.ANSWERED, Ticket.Status.TAKEN):
        ticket_status_change(ticket=ticket, operator=operator, status=status)
        ticket.refresh_from_db()
        assert ticket.status == status
    ticket_reply_staff(ticket=ticket, operator=operator, body="Hi.", new_status="")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TAKEN


@pytest.mark.parametrize(
    "fields",
    [
        {
            "_ticket_action": "reply",
            "reply-body": "Done.",
            "reply-visibility": "public",
            "reply-new_status": "bogus",
        },
        {
            "_ticket_action": "reply",
            "reply-body": "Done.",
            "reply-visibility": "public",
            "reply-new_status": "closed",
        },
        {"_ticket_action": "status", "status-status": "bogus"},
        {"_ticket_action": "status", "status-status": "closed"},
    ],
    ids=["reply bogus", "reply closed", "status bogus", "status closed"],
)
def test_the_admin_refuses_a_status_an_operator_cannot_set(client, operator, fields):
    ticket = TicketFactory()
    client.force_login(operator)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    response = client.post(url, fields)
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW
    assert ticket.assigned_to is None
    assert not ticket.events.exclude(kind=TicketEvent.Kind.SUBMITTED).exists()
