from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from customers.services import customer_suspend
from tests.conftest import make_image, stored_files, ticket_post_data, ticket_submit
from tests.core.factories import TermsVersionFactory
from tests.customers.factories import StaffFactory, UnitFactory
from tests.products.factories import DatabankFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment, Ticket, TicketCounter, TicketEvent
from tickets.services import ticket_reply_staff, ticket_take

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

CREATE = reverse("tickets:create")
LIST = reverse("tickets:list")


def counter_value() -> int:
    counter = TicketCounter.objects.filter(name="ticket").first()
    return counter.last_number if counter else 0


# List -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        pytest.param({"state": "open"}, {"Still broken"}, id="open"),
        pytest.param({"state": "closed"}, {"Fixed long ago"}, id="closed"),
        pytest.param({"state": "all"}, {"Still broken", "Fixed long ago"}, id="all"),
        # The default is the open ones; an unknown state falls back to it.
        pytest.param({}, {"Still broken"}, id="no state: open"),
        pytest.param({"state": "x"}, {"Still broken"}, id="unknown state: open"),
    ],
)
def test_list_filters_open_closed_and_all(customer_client, customer, query, shown):
    TicketFactory(customer=customer, subject="Still broken")
    TicketFactory(
        customer=customer, subject="Fixed long ago", status="closed", closed_at=timezone.now()
    )
    TicketFactory(subject="Someone else's")

    page = customer_client.get(LIST, query).content.decode()

    subjects = ("Still broken", "Fixed long ago", "Someone else&#x27;s")
    assert {subject for subject in subjects if subject in page} == shown


def test_list_searches_by_number_and_by_serial(customer_client, customer):
    unit = UnitFactory(customer=customer, serial_number="KS-777")
    first = TicketFactory(customer=customer, subject="First one")
    second = TicketFactory(customer=customer, unit=unit, subject="Second one")
    for query in (str(first.number), f"#{first.number}"):
        page = customer_client.get(LIST, {"q": query, "state": "all"}).content.decode()
        assert "First one" in page
        assert "Second one" not in page
    page = customer_client.get(LIST, {"q": "ks-777", "state": "all"}).content.decode()
    assert "Second one" in page
    assert "First one" not in page
    page = customer_client.get(LIST, {"q": "nothing", "state": "all"}).content.decode()
    assert "No tickets match." in page
    assert second.number


def test_search_does_not_find_another_customers_ticket(customer_client):
    theirs = TicketFactory(subject="Theirs")
    page = customer_client.get(LIST, {"q": str(theirs.number), "state": "all"}).content.decode()
    assert "Theirs" not in page


def test_a_row_shows_the_ticket_as_written_escaped_in_the_readers_language(
    customer_client, customer
):
    received = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)  # 10:05 in Rome
    ticket = TicketFactory(
        customer=customer,
        subject='<script>alert("x")</script> & co',
        serial_number="SN<1>",
        received_at=received,
        status=Ticket.Status.NEW,
    )

    page = customer_client.get(LIST, HTTP_ACCEPT_LANGUAGE="it").content.decode()

    row = page[
        page.index('<li class="ticket-row">') : page.index("</li>", page.index("ticket-row"))
    ]
    assert f'<a href="{reverse("tickets:detail", args=[ticket.number])}">' in row
    assert f'<span class="ticket-number">#{ticket.number}</span>' in row
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in row
    assert "<script>" not in page
    assert f"{ticket.product.name} · SN&lt;1&gt; · " in row
    assert '<time datetime="2026-11-27T10:05:00+01:00">27/11/2026 10:05</time>' in row
    with translation.override("it"):
        label = str(Ticket.Status.NEW.label)
    assert f'<span class="status status-new">{label}</span>' in row


def test_an_empty_list_says_so(customer_client):
    page = customer_client.get(LIST, {"state": "closed"}).content.decode()
    assert '<ul class="ticket-list">\n  <li class="empty">' in page


def test_list_is_paginated(customer_client, customer):
    unit = UnitFactory(customer=customer)
    now = timezone.now()
    for i in range(25):
        TicketFactory(
            customer=customer,
            unit=unit,
            subject=f"Ticket-{i:02d}-end",
            received_at=now - timedelta(minutes=i),
        )
    first = customer_client.get(LIST).content.decode()
    assert first.count('class="ticket-row"') == 20
    assert "Ticket-00-end" in first
    assert "Page 1 of 2" in first
    assert 'rel="next" href="?page=2"' in first
    second = customer_client.get(LIST, {"page": 2}).content.decode()
    assert second.count('class="ticket-row"') == 5
    assert "Ticket-24-end" in second
    # A page out of range shows the last one rather than an error.
    assert customer_client.get(LIST, {"page": 99}).status_code == 200


# Create -----------------------------------------------------------------------------------------


def test_create_form_shows_the_terms_and_the_responsibility_notice(customer_client, terms, unit):
    page = customer_client.get(CREATE).content.decode()
    assert f"version {terms.version}" in page
    assert "you are responsible for any error or omission" in page
    assert f'value="unit:{unit.pk}"' in page
    assert f'name="terms_version" value="{terms.pk}"' in page


def test_create_saves_every_field(customer_client, customer, unit, terms):
    data = ticket_post_data(
        unit,
        terms,
        language="it",
        software_version="3.200",
        screenshots=make_image("errore.png"),
        ecu_photos=make_image("ecu.jpg", image_format="JPEG"),
        connection_photos=make_image("cables.jpg", image_format="JPEG"),
        log_files=__import__("io").BytesIO(b"line 1\nline 2\n"),
        other_files=__import__("io").BytesIO(b"%PDF-1.4 fake but signed"),
    )
    data["log_files"].name = "kess.log"
    data["other_files"].name = "invoice.pdf"
    before = timezone.now()
    response = customer_client.post(CREATE, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("tickets:detail", args=[ticket.number])
    assert ticket.number == counter_value()
    expected = {
        "customer": customer,
        "unit": unit,
        "product": unit.product,
        "serial_number": unit.serial_number,
        "kind": "problem",
        "language": "it",
        "status": "new",
        "subject": "Write fails at 87%",
        "vehicle_description": "Fiat Punto 1.3 Multijet 2012",
        "vehicle_identification": "ZFA19900000123456",
        "ecu_description": "Bosch EDC16C39",
        "ecu_identification": "0281013409",
        "software_version": "3.200",
        "software_outdated": False,
        "description": "Writing stops at 87% every time.",
        "error_message": "ERR 0x42 checksum",
        "operations": "Read OK, then write; retried twice.",
        "terms_version": terms,
    }
    assert {key: getattr(ticket, key) for key in expected} == expected
    assert before <= ticket.terms_accepted_at <= timezone.now()
    assert ticket.received_at == ticket.terms_accepted_at
    kinds = sorted(ticket.attachments.values_list("kind", "original_name"))
    assert kinds == [
        ("connection_photo", "cables.jpg"),
        ("ecu_photo", "ecu.jpg"),
        ("log", "kess.log"),
        ("other", "invoice.pdf"),
        ("screenshot", "errore.png"),
    ]
    event = ticket.events.get()
    assert event.kind == TicketEvent.Kind.SUBMITTED
    assert set(ticket.attachments.values_list("event", flat=True)) == {event.pk}
    page = customer_client.get(response["Location"]).content.decode()
    assert f"Ticket #{ticket.number} received." in page


def test_create_with_a_screenshot_and_no_error_text(customer_client, unit, terms):
    data = ticket_post_data(unit, terms, error_message="", screenshots=make_image())
    assert customer_client.post(CREATE, data).status_code == 302


def test_create_for_the_databank_needs_no_unit(customer_client, customer, terms):
    databank = DatabankFactory()
    data = ticket_post_data(UnitFactory(customer=customer), terms, target=f"product:{databank.pk}")
    response = customer_client.post(CREATE, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket = Ticket.objects.get()
    assert (ticket.product, ticket.unit, ticket.serial_number) == (databank, None, "")


@pytest.mark.parametrize(
    ("version", "outdated"),
    [
        pytest.param("3.19", True, id="3.19 is older than 3.200"),
        pytest.param("3.200", False, id="3.200 is the latest"),
    ],
)
def test_outdated_software_is_warned_about_and_recorded(
    customer_client, unit, terms, version, outdated
):
    # The unit's product's latest version is 3.200; the form is sent incomplete first.
    data = ticket_post_data(unit, terms, software_version=version, subject="")
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert ("This version is older than the latest one (3.200)" in page) is outdated

    response = customer_client.post(CREATE, {**data, "subject": "Now complete"})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.software_outdated is outdated
    page = customer_client.get(response["Location"]).content.decode()
    assert ("older than the latest (3.200)" in page) is outdated


def test_duplicate_guard_lists_open_tickets_and_asks_for_confirmation(
    customer_client, customer, unit, terms
):
    existing = TicketFactory(customer=customer, unit=unit, subject="The earlier problem")
    TicketFactory(
        customer=customer,
        unit=unit,
        subject="Closed one",
        status="closed",
        closed_at=timezone.now(),
    )
    number_before = counter_value()
    data = ticket_post_data(unit, terms)
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert f"#{existing.number} The earlier problem" in page
    assert "Closed one" not in page
    assert "confirm that this is a new problem" in page
    assert 'name="confirm_new_problem"' in page
    assert Ticket.objects.count() == 2
    assert counter_value() == number_before

    response = customer_client.post(CREATE, {**data, "confirm_new_problem": "on"})
    assert response.status_code == 302
    assert Ticket.objects.count() == 3


def test_terms_acceptance_is_required(customer_client, unit, terms):
    data = ticket_post_data(unit, terms)
    del data["accept_terms"]
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    assert "You must accept the terms to submit a ticket." in response.content.decode()
    assert not Ticket.objects.exists()


def test_stale_terms_version_is_refused(customer_client, unit, terms):
    data = ticket_post_data(unit, terms)
    newer = TermsVersionFactory(effective_from=timezone.now() - timedelta(minutes=1))
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The terms have changed: read and accept the current version." in page
    assert f'name="terms_version" value="{newer.pk}"' in page
    assert not Ticket.objects.exists()
    response = customer_client.post(CREATE, {**data, "terms_version": newer.pk})
    assert response.status_code == 302
    assert Ticket.objects.get().terms_version == newer


def test_no_terms_published_means_no_ticket(customer_client, unit, terms):
    data = ticket_post_data(unit, terms)
    terms.effective_from = timezone.now() + timedelta(days=1)
    terms.save()
    response = customer_client.post(CREATE, data)
    assert response.status_code == 400
    assert "No terms have been published yet" in response.content.decode()
    assert not Ticket.objects.exists()


# Detail, reply, close ---------------------------------------------------------------------------


def test_detail_shows_timeline_and_files_with_thumbnails(customer_client, customer, unit, terms):
    ticket = ticket_submit(
        customer=customer,
        unit=unit,
        terms=terms,
        subject="Checksum error",
        files=[("screenshot", _clean(make_image("shot.png")))],
    )
    operator = StaffFactory()
    ticket_take(ticket=ticket, operator=operator)
    ticket_reply_staff(ticket=ticket, operator=operator, body="Please send the LOG.")
    ticket_reply_staff(ticket=ticket, operator=operator, body="Secret note", is_public=False)
    page = customer_client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert f"#{ticket.number}" in page
    assert "Checksum error" in page
    assert "Please send the LOG." in page
    assert "Secret note" not in page
    attachment = ticket.attachments.get()
    assert reverse("tickets:attachment", args=[attachment.pk]) in page
    assert reverse("tickets:attachment-thumbnail", args=[attachment.pk]) in page
    assert "shot.png" in page
    assert page.index("Submitted") < page.index("Taken in charge") < page.index("Please send")
    assert "Answered" in page


def _clean(upload):
    from tickets.uploads import clean_upload

    return clean_upload(upload)


def test_reply_adds_a_message_with_a_file_and_reopens_an_answered_ticket(
    customer_client, customer, unit, terms
):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    operator = StaffFactory()
    ticket_reply_staff(ticket=ticket, operator=operator, body="Try again.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ANSWERED
    response = customer_client.post(
        reverse("tickets:reply", args=[ticket.number]),
        {"body": "Still failing.", "files": make_image("again.png")},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#latest")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TAKEN
    message = ticket.events.get(kind=TicketEvent.Kind.MESSAGE, author=customer.user)
    assert message.body == "Still failing."
    assert message.attachments.get().original_name == "again.png"
    assert ticket.events.filter(kind=TicketEvent.Kind.REOPENED).exists()


def test_reply_with_only_a_file_is_an_attachment_event(customer_client, customer, unit, terms):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    response = customer_client.post(
        reverse("tickets:reply", args=[ticket.number]), {"body": "", "files": make_image()}
    )
    assert response.status_code == 302
    assert ticket.events.filter(kind=TicketEvent.Kind.ATTACHMENT).count() == 1


def test_close_by_the_customer(customer_client, customer, unit, terms):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    assert customer_client.get(reverse("tickets:close", args=[ticket.number])).status_code == 302
    ticket.refresh_from_db()
    assert ticket.is_open  # a GET changes nothing
    response = customer_client.post(reverse("tickets:close", args=[ticket.number]), follow=True)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert f"Ticket #{ticket.number} is closed." in response.content.decode()
    response = customer_client.post(reverse("tickets:close", args=[ticket.number]), follow=True)
    assert "This ticket is already closed." in response.content.decode()
    assert ticket.events.filter(kind=TicketEvent.Kind.CLOSED).count() == 1


def test_reply_on_a_closed_ticket_is_refused_with_a_message(
    customer_client, customer, unit, terms, private_media
):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    customer_client.post(reverse("tickets:close", args=[ticket.number]))
    response = customer_client.post(
        reverse("tickets:reply", args=[ticket.number]), {"body": "One more thing"}
    )
    assert response.status_code == 400
    assert "This ticket is closed: open a new one for a new problem." in response.content.decode()
    assert not ticket.events.filter(kind=TicketEvent.Kind.MESSAGE).exists()


# Suspended customers ----------------------------------------------------------------------------


def test_suspended_customer_reads_but_cannot_open_or_reply(
    customer_client, customer, unit, terms, private_media
):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms, subject="Old one")
    customer_suspend(customer=customer, reason="Counterfeit software found.")
    number = counter_value()

    home = customer_client.get(reverse("tickets:home")).content.decode()
    assert "Your account is suspended." in home
    assert "Counterfeit software found." in home
    assert 'href="/tickets/new/"' not in home
    assert "Old one" in customer_client.get(LIST).content.decode()

    form_page = customer_client.get(CREATE).content.decode()
    assert "Counterfeit software found." in form_page

    response = customer_client.post(CREATE, ticket_post_data(unit, terms, confirm_new_problem="on"))
    assert response.status_code == 400
    assert "Counterfeit software found." in response.content.decode()
    assert Ticket.objects.count() == 1
    assert counter_value() == number

    detail = customer_client.get(reverse("tickets:detail", args=[ticket.number]))
    assert detail.status_code == 200
    assert "you cannot reply" in detail.content.decode()
    assert "Counterfeit software found." in detail.content.decode()
    response = customer_client.post(
        reverse("tickets:reply", args=[ticket.number]), {"body": "Let me in"}
    )
    assert response.status_code == 400
    assert "Counterfeit software found." in response.content.decode()
    assert not ticket.events.filter(kind=TicketEvent.Kind.MESSAGE).exists()
    assert stored_files(private_media) == []


def test_suspended_customer_is_refused_by_the_services(customer, unit, terms):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    customer_suspend(customer=customer, reason="Counterfeit software found.")
    from tickets.services import ticket_reply_customer

    with pytest.raises(PermissionDenied, match="Counterfeit"):
        ticket_submit(customer=customer, unit=unit, terms=terms)
    with pytest.raises(PermissionDenied, match="Counterfeit"):
        ticket_reply_customer(ticket=ticket, customer=customer, body="Hi")
    assert Ticket.objects.count() == 1


def test_attachment_models_are_linked(customer, unit, terms):
    ticket = ticket_submit(
        customer=customer, unit=unit, terms=terms, files=[("screenshot", _clean(make_image()))]
    )
    attachment = Attachment.objects.get()
    assert attachment.ticket == ticket
    assert attachment.uploaded_by == customer.user


# What the upload script and the page rely on ----------------------------------------------------

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def test_the_upload_script_is_told_where_to_go_and_the_message_waits_there(
    customer_client, unit, terms
):
    """A redirect followed by XMLHttpRequest would eat the confirmation: the script gets JSON."""
    data = ticket_post_data(unit, terms, screenshots=make_image("shot.png"))
    response = customer_client.post(CREATE, data, **XHR)
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    detail = reverse("tickets:detail", args=[ticket.number])
    assert response.json() == {"redirect": detail}
    assert f"Ticket #{ticket.number} received." in customer_client.get(detail).content.decode()

    reply = reverse("tickets:reply", args=[ticket.number])
    response = customer_client.post(reply, {"body": "More", "files": make_image()}, **XHR)
    assert response.json() == {"redirect": detail + "#latest"}
    assert "Your message has been added" in customer_client.get(detail).content.decode()


def test_the_upload_script_gets_the_form_again_when_it_is_refused(customer_client, unit, terms):
    data = ticket_post_data(unit, terms, subject="", screenshots=make_image("shot.png"))
    response = customer_client.post(CREATE, data, **XHR)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'id="form-errors"' in page
    assert "shot.png" in page  # kept for the next attempt
    assert not Ticket.objects.exists()


def test_the_forms_carry_the_progress_bar_and_its_messages(customer_client, customer, unit, terms):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    for url in (CREATE, reverse("tickets:detail", args=[ticket.number])):
        page = customer_client.get(url).content.decode()
        assert "data-upload-progress" in page
        assert 'data-error-text="The files could not be sent' in page
        assert '<progress max="100" value="0" aria-label="Sending the files…">' in page


def test_history_shows_statuses_in_words_not_codes(customer_client, customer, unit, terms):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms)
    operator = StaffFactory()
    ticket_take(ticket=ticket, operator=operator)
    ticket_reply_staff(ticket=ticket, operator=operator, body="Done?")
    page = customer_client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert "(New → Taken in charge)" in page
    assert "(Taken in charge → Answered)" in page
    assert "→ taken)" not in page
    assert "→ answered)" not in page


def test_error_summary_links_to_each_field(customer_client, unit, terms):
    data = ticket_post_data(unit, terms, subject="", accept_terms="")
    del data["accept_terms"]
    page = customer_client.post(CREATE, data).content.decode()
    assert '<a href="#id_subject">Subject: This field is required.</a>' in page
    assert '<a href="#id_accept_terms">You must accept the terms to submit a ticket.</a>' in page


def test_the_form_shows_who_opens_the_ticket(customer_client, customer, unit, terms):
    page = customer_client.get(CREATE).content.decode()
    assert f"Customer code {customer.code}" in page


def test_a_loss_report_hides_the_diagnostic_fields_but_keeps_them_in_the_page(
    customer_client, unit, terms
):
    page = customer_client.get(CREATE, {"unit": unit.pk, "kind": "loss"}).content.decode()
    assert page.count("<div data-problem-only hidden>") == 3
    assert 'name="vehicle_description"' in page  # still there, if the type is changed back
    assert 'data-loss-value="loss"' in page
    page = customer_client.get(CREATE, {"unit": unit.pk}).content.decode()
    assert "<div data-problem-only hidden>" not in page
    assert page.count("<div data-problem-only>") == 3


def test_staged_files_are_a_group_with_a_legend(customer_client, unit, terms):
    data = ticket_post_data(unit, terms, subject="", screenshots=make_image("shot.png"))
    page = customer_client.post(CREATE, data).content.decode()
    assert '<fieldset class="field field-group" id="id_staged_group">' in page
    assert "<legend>Files already uploaded</legend>" in page
    assert '<label for="id_staged">' not in page


def test_a_ticket_page_without_a_remote_request_does_not_look_for_one(customer_client, customer):
    ticket = TicketFactory(customer=customer)

    with CaptureQueriesContext(connection) as queries:
        response = customer_client.get(reverse("tickets:detail", args=[ticket.number]))

    assert response.status_code == 200
    assert not [q for q in queries if "tickets_remoteaccessrequest" in q["sql"]]


def test_a_status_label_is_get_status_display_s_even_for_a_value_no_longer_offered():
    with translation.override("fr"):
        for value in [*Ticket.Status.values, "legacy"]:
            ticket = Ticket(status=value)
            assert ticket.status_label == str(ticket.get_status_display())
