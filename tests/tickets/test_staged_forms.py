"""Files kept for a retry belong to the one form they were sent with, once each (issue 16.1)."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from schedule import gate
from tests.conftest import make_image, pin_service_status, stored_files, ticket_post_data
from tests.customers.factories import CustomerFactory
from tests.tickets.pages import form_token, form_tokens
from tickets.attachments import attachments_stage, attachments_staged_sweep
from tickets.models import Attachment, Ticket
from tickets.uploads import clean_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

CREATE = reverse("tickets:create")
OFFERED = re.compile(r'<label for="id_staged_\d+"><input type="checkbox"[^>]*>([^<]*)</label>')


def log_file(name="kess.log", data=b"line 1\nline 2\n"):
    return SimpleUploadedFile(name, data, content_type="text/plain")


def reply_url(ticket):
    return reverse("tickets:reply", args=[ticket.number])


def detail_url(ticket):
    return reverse("tickets:detail", args=[ticket.number])


def offered(page: str) -> list[str]:
    """The names of the kept files a page's forms offer, in order, repeats included."""
    return [name.strip() for name in OFFERED.findall(page)]


def staged_names(**filters) -> list[str]:
    rows = Attachment.objects.filter(ticket__isnull=True, **filters)
    return sorted(rows.values_list("original_name", flat=True))


def refused_with_files(client, unit, terms, **files):
    """A new-ticket attempt refused for a missing subject, carrying files; its page."""
    response = client.post(CREATE, ticket_post_data(unit, terms, subject="", **files))
    assert response.status_code == 400
    return response.content.decode()


def test_the_next_form_and_the_reply_forms_do_not_offer_another_forms_files(
    customer_client, customer, unit, terms, ticket
):
    page = refused_with_files(
        customer_client, unit, terms, screenshots=make_image("error.png"), log_files=log_file()
    )
    assert len(offered(page)) == 2
    assert staged_names() == ["error.png", "kess.log"]

    # A new-ticket form opened afresh, and the reply form of a ticket, offer none of them.
    assert offered(customer_client.get(CREATE).content.decode()) == []
    assert offered(customer_client.get(detail_url(ticket)).content.decode()) == []
    # Each page opened is a form of its own.
    assert form_token(customer_client.get(CREATE).content.decode()) != form_token(page)


def test_a_file_chosen_again_on_each_retry_is_kept_and_sent_once(
    customer_client, unit, terms, private_media
):
    page = refused_with_files(
        customer_client, unit, terms, screenshots=make_image("error.png"), log_files=log_file()
    )
    token = form_token(page)
    kept = list(Attachment.objects.filter(ticket__isnull=True).order_by("original_name"))
    for _attempt in range(2):
        # The customer ticks the kept files and also chooses the same files again.
        data = ticket_post_data(
            unit,
            terms,
            subject="",
            staged=[a.pk for a in kept],
            form_token=token,
            screenshots=make_image("error.png"),
            log_files=log_file(),
        )
        page = customer_client.post(CREATE, data).content.decode()
        assert sorted(offered(page)) == ["error.png", "kess.log"]
        assert staged_names() == ["error.png", "kess.log"]
    files_kept = stored_files(private_media)

    # Unticked this time, but chosen again: the kept copy is sent, not a second one.
    data = ticket_post_data(
        unit, terms, form_token=token, screenshots=make_image("error.png"), log_files=log_file()
    )
    assert customer_client.post(CREATE, data).status_code == 302
    ticket = Ticket.objects.get()
    assert sorted(ticket.attachments.values_list("original_name", flat=True)) == [
        "error.png",
        "kess.log",
    ]
    assert sorted(a.pk for a in ticket.attachments.all()) == sorted(a.pk for a in kept)
    assert stored_files(private_media) == files_kept


def test_two_different_files_of_the_same_name_are_both_kept(customer_client, unit, terms):
    page = refused_with_files(customer_client, unit, terms, log_files=log_file(data=b"first\n"))
    data = ticket_post_data(
        unit, terms, subject="", form_token=form_token(page), log_files=log_file(data=b"second\n")
    )
    page = customer_client.post(CREATE, data).content.decode()
    assert offered(page) == ["kess.log", "kess.log"]


def test_the_same_file_twice_in_one_field_is_sent_once(customer_client, unit, terms):
    data = ticket_post_data(unit, terms, log_files=[log_file(), log_file()])
    assert customer_client.post(CREATE, data).status_code == 302
    assert Ticket.objects.get().attachments.count() == 1


def test_files_left_unticked_are_deleted_when_the_form_succeeds(
    customer_client, customer, unit, terms, private_media
):
    # Another form's kept files (another tab, say) are not this form's to delete.
    [elsewhere] = attachments_stage(
        user=customer.user,
        files=[("log", clean_upload(log_file("other.log")))],
        form_token="f" * 32,
    )
    page = refused_with_files(
        customer_client,
        unit,
        terms,
        screenshots=make_image("error.png"),
        log_files=log_file("unwanted.log"),
    )
    screenshot = Attachment.objects.get(original_name="error.png")
    data = ticket_post_data(unit, terms, staged=[screenshot.pk], form_token=form_token(page))
    assert customer_client.post(CREATE, data).status_code == 302

    ticket = Ticket.objects.get()
    assert list(ticket.attachments.values_list("original_name", flat=True)) == ["error.png"]
    assert staged_names() == ["other.log"]
    sent = ticket.attachments.get()
    assert stored_files(private_media) == sorted(
        [sent.file.name, sent.thumbnail.name, elsewhere.file.name]
    )


def test_a_reply_keeps_its_own_files_and_sends_them_on_the_retry(
    customer_client, ticket, unit, terms, monkeypatch, service_open
):
    closed = gate.ServiceStatus(
        state=gate.ServiceState.CLOSURE, reason="Closed today.", next_opening=None, at=None
    )
    pin_service_status(monkeypatch, closed)
    data = {"body": "Photo.", "files": [make_image("photo.png")]}
    response = customer_client.post(reply_url(ticket), data)
    assert response.status_code == 400
    pin_service_status(monkeypatch, service_open)
    page = response.content.decode()
    assert offered(page) == ["photo.png"]
    [token] = form_tokens(page)
    # Neither the ticket page opened again nor a new ticket offers the reply's file.
    assert offered(customer_client.get(detail_url(ticket)).content.decode()) == []
    assert offered(customer_client.get(CREATE).content.decode()) == []

    [kept] = Attachment.objects.filter(ticket__isnull=True)
    response = customer_client.post(
        reply_url(ticket), {"body": "Photo.", "staged": [kept.pk], "form_token": token}
    )
    assert response.status_code == 302
    assert list(ticket.attachments.values_list("original_name", flat=True)) == ["photo.png"]
    assert not Attachment.objects.filter(ticket__isnull=True).exists()
    assert offered(customer_client.get(detail_url(ticket)).content.decode()) == []


def test_another_users_token_offers_none_of_their_files(customer_client, unit, terms):
    other = CustomerFactory()
    token = "a" * 32
    [theirs] = attachments_stage(
        user=other.user, files=[("log", clean_upload(log_file()))], form_token=token
    )
    page = customer_client.get(CREATE, {"unit": unit.pk}).content.decode()
    data = ticket_post_data(unit, terms, staged=[theirs.pk], form_token=token)
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert offered(response.content.decode()) == []
    assert "kess.log" not in page
    theirs.refresh_from_db()
    assert theirs.ticket is None


def test_a_forged_token_is_replaced(customer_client, unit, terms):
    data = ticket_post_data(unit, terms, subject="", form_token="<script>", log_files=log_file())
    page = customer_client.post(CREATE, data).content.decode()
    assert "&lt;script&gt;" not in page
    assert Attachment.objects.get().form_token == form_token(page)
    assert offered(page) == ["kess.log"]


def test_the_quota_and_the_sweep_still_count_every_forms_files(
    customer_client, customer, unit, terms, settings
):
    settings.ATTACHMENT_STAGED_MAX_COUNT = 2
    refused_with_files(customer_client, unit, terms, log_files=log_file("a.log", b"a"))
    refused_with_files(customer_client, unit, terms, log_files=log_file("b.log", b"b"))
    page = refused_with_files(customer_client, unit, terms, log_files=log_file("c.log", b"c"))
    assert "Your new files were not kept for the next attempt" in page
    assert staged_names() == ["a.log", "b.log"]
    assert attachments_staged_sweep(max_age=timedelta(0)) == 2
    assert not Attachment.objects.exists()
