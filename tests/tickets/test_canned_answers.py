"""Canned answers: kept by managers, inserted by operators in the ticket's language, counted."""

import pytest
from django.urls import reverse

from tickets.models import CannedAnswer, CannedAnswerUse, TicketEvent

pytestmark = pytest.mark.django_db

ADD = reverse("admin:tickets_cannedanswer_add")
LIST = reverse("admin:tickets_cannedanswer_changelist")


def page_url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


@pytest.fixture
def firmware():
    return CannedAnswer.objects.create(
        name="KESSv2: update the firmware",
        text_it="Gentile {customer}, per il ticket {ticket} aggiorni {product} alla "
        "{latest_version}: {manuals}",
        text_en="Dear {customer}, for ticket {ticket} update {product} to "
        "{latest_version}: {manuals}",
    )


def test_a_manager_writes_an_answer_with_its_two_texts(manager_client):
    response = manager_client.post(
        ADD,
        {
            "name": "Cable check",
            "text_it": "Controlli il cavo, {customer}.",
            "text_en": "Check the cable, {customer}.",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert CannedAnswer.objects.get().text_en == "Check the cable, {customer}."


def test_an_unknown_placeholder_is_refused_by_name(manager_client):
    response = manager_client.post(
        ADD, {"name": "Typo", "text_it": "Ciao {cliente}", "text_en": "Hello {", "is_active": "on"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "{cliente}" in page
    assert not CannedAnswer.objects.exists()


def test_operators_read_the_answers_but_cannot_change_them(operator_client, firmware):
    assert operator_client.get(LIST).status_code == 200
    assert operator_client.get(ADD).status_code == 403


@pytest.mark.parametrize(
    ("language", "start"), [("it", "Gentile Officina"), ("en", "Dear Officina")]
)
def test_the_operator_inserts_it_in_the_ticket_s_language_filled_in(
    operator_client, ticket, firmware, language, start
):
    ticket.language = language
    ticket.save()
    customer = ticket.customer
    customer.contact_name = "Officina Bianchi"
    customer.save()
    product = ticket.product
    product.latest_version = "2.80"
    product.manuals_url = "https://databank.example.com/kess"
    product.save()

    page = operator_client.get(page_url(ticket), {"canned": firmware.name}).content.decode()

    assert 'list="canned-answers"' in page
    assert f'<option value="{firmware.name}">' in page
    body = page.split('name="reply-body"')[1].split("</textarea>")[0]
    assert f"{start} Bianchi" in body
    assert f"#{ticket.number}" in body
    assert "2.80: https://databank.example.com/kess" in body
    assert f'name="reply-canned" value="{firmware.pk}"' in page


def test_the_reply_sent_from_it_is_counted(operator_client, operator, ticket, firmware):
    response = operator_client.post(
        page_url(ticket),
        {
            "_ticket_action": "reply",
            "reply-body": "Edited by the operator before sending.",
            "reply-visibility": "public",
            "reply-new_status": "answered",
            "reply-canned": str(firmware.pk),
        },
    )

    assert response.status_code == 302
    [use] = CannedAnswerUse.objects.all()
    assert use.event.body == "Edited by the operator before sending."
    assert use.used_by == operator
    assert '<td class="field-recent_uses">1</td>' in operator_client.get(LIST).content.decode()


def test_a_reply_written_from_scratch_counts_nothing(operator_client, ticket, firmware):
    operator_client.post(
        page_url(ticket),
        {
            "_ticket_action": "reply",
            "reply-body": "My own words.",
            "reply-visibility": "public",
            "reply-new_status": "answered",
        },
    )

    assert TicketEvent.objects.filter(body="My own words.").exists()
    assert not CannedAnswerUse.objects.exists()


def test_an_unknown_or_retired_answer_is_said_and_leaves_the_box_empty(
    operator_client, ticket, firmware
):
    firmware.is_active = False
    firmware.save()

    page = operator_client.get(page_url(ticket), {"canned": firmware.name}).content.decode()

    assert "No canned answer is named" in page
    assert 'list="canned-answers"' not in page  # no answer left to offer
    assert page.split('name="reply-body"')[1].split("</textarea>")[0].endswith(">\n")


def test_the_dashboard_counts_the_replies_sent_from_each_answer(
    client, operator_client, ticket, firmware, manager
):
    cable = CannedAnswer.objects.create(name="Cable check", text_it="Il cavo.", text_en="Cable.")
    for answer, body in ((firmware, "One."), (firmware, "Two."), (cable, "Three.")):
        operator_client.post(
            page_url(ticket),
            {
                "_ticket_action": "reply",
                "reply-body": body,
                "reply-visibility": "public",
                "reply-new_status": "answered",
                "reply-canned": str(answer.pk),
            },
        )
    client.force_login(manager)

    page = client.get(reverse("tickets_admin:dashboard")).content.decode()
    export = client.get(reverse("tickets_admin:dashboard-csv")).content.decode()

    section = page.split("Canned answers used in the window")[1]
    assert section.index(firmware.name) < section.index("Cable check")  # most used first
    assert f'<td>{firmware.name}</td><td class="num">2</td>' in section
    assert f"canned_answers,{firmware.name},,replies,2" in export
    assert "canned_answers,Cable check,,replies,1" in export
