"""Collisions in Chromium: who else has a ticket open, live; a stale post shown what changed.

Two operators on the same ticket: the pages ping every second here (every PRESENCE_PING seconds
in production), with the static tickets/presence.js under the portal's strict CSP; the second
operator leaves and the first page forgets them at its next ping. An operator and a customer
send a reply written before someone else's: refused, the changes shown, the text kept, then
confirmed. The pages are photographed in English at both widths.
"""

import re

import pytest

from core.roles import OPERATORS
from tests.browser.test_customer_journey import log_in
from tests.browser.test_staff_journeys import admin_log_in
from tests.core.factories import staff_with_role
from tests.customers.factories import CustomerFactory
from tests.tickets.factories import TicketFactory
from tickets.models import TicketEvent
from tickets.services import ticket_reply_staff

pytestmark = pytest.mark.browser


def operator_named(username: str, last_name: str):
    user = staff_with_role(OPERATORS, username)
    user.last_name = last_name
    user.save(update_fields=["last_name"])
    return user


@pytest.mark.parametrize("width", ["1280", "390"])
def test_the_presence_box_follows_the_other_operator_live(
    journey, transactional_db, monkeypatch, width
):
    monkeypatch.setattr("tickets.desk.ticket_page.PRESENCE_PING", 1)
    ticket = TicketFactory(subject="Checksum error on EDC17")
    anna = operator_named("anna", "Rossi")
    marco = operator_named("marco", "Bianchi")
    path = f"/admin/tickets/ticket/{ticket.pk}/change/"
    first = journey("presence-anna", language="en", width=width)
    second = journey("presence-marco", language="en", width=width)
    box = "#ticket-presence"

    admin_log_in(first, anna, next_path=path)
    assert first.page.locator(box).inner_text() == ""
    errors: list[str] = []
    first.page.on("pageerror", lambda exc: errors.append(str(exc)))
    first.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    admin_log_in(second, marco, next_path=path)
    assert second.page.locator(box).inner_text() == "Also open by: Anna Rossi"
    second.look("marco-sees-anna")

    # Anna's page learns of Marco at its next ping, without a reload.
    first.page.wait_for_function(
        "() => document.querySelector('#ticket-presence').textContent.includes('Marco Bianchi')",
        timeout=5000,
    )
    assert first.page.locator(box).get_attribute("role") == "status"
    first.look("anna-sees-marco")

    # Marco goes back to the queue: his page says goodbye, and Anna's box empties.
    second.visit("/admin/tickets/ticket/")
    first.page.wait_for_function(
        "() => document.querySelector('#ticket-presence').textContent.trim() === ''",
        timeout=5000,
    )
    assert not re.search(r"Content Security Policy|Refused to", " ".join(errors)), errors


@pytest.mark.parametrize("width", ["1280", "390"])
def test_a_stale_reply_sent_with_the_keyboard_is_shown_the_changes_then_confirmed(
    journey, transactional_db, width
):
    ticket = TicketFactory(subject="Write fails at 87%")
    anna = operator_named("anna", "Rossi")
    marco = operator_named("marco", "Bianchi")
    path = f"/admin/tickets/ticket/{ticket.pk}/change/"
    walk = journey("stale-reply", language="en", width=width)
    page = walk.page
    admin_log_in(walk, anna, next_path=path)

    # While Anna writes, Marco answers from his own page.
    ticket_reply_staff(ticket=ticket, operator=marco, body="Update to 3.2 first.")
    body = page.locator("#id_reply-body")
    body.focus()
    page.keyboard.type("Try another OBD cable.")
    page.keyboard.press("Tab")  # to "Send as", then on to the button with the keyboard
    page.locator("form:has(input[value=reply]) [type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    walk.look("refused-with-changes")
    changes = page.locator(".ticket-changes")
    assert "Update to 3.2 first." in changes.inner_text()
    # The list of changes has the focus: read first, then Tab on to the kept text.
    assert page.evaluate("document.activeElement.classList.contains('ticket-changes')")
    assert body.input_value() == "Try another OBD cable."
    assert not TicketEvent.objects.filter(author=anna).exists()

    page.locator("form:has(input[value=reply]) [type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    walk.look("confirmed")
    assert TicketEvent.objects.get(author=anna).body == "Try another OBD cable."


@pytest.mark.parametrize("width", ["1280", "390"])
def test_a_customer_is_shown_the_answer_that_arrived_while_writing(
    journey, service_hours, terms, width
):
    customer = CustomerFactory(language="en")
    ticket = TicketFactory(customer=customer, subject="Write fails at 87%", language="en")
    marco = operator_named("marco", "Bianchi")
    walk = journey("stale-customer-reply", language="en", width=width)
    page = walk.page
    log_in(walk, customer)
    walk.visit(f"/tickets/{ticket.number}/")

    ticket_reply_staff(ticket=ticket, operator=marco, body="Which ECU exactly?")
    ticket_reply_staff(ticket=ticket, operator=marco, body="VIP customer.", is_public=False)
    page.fill("#id_body", "The LOG is attached.")
    with page.expect_navigation():
        page.locator("form.reply-form button[type=submit], .reply form [type=submit]").first.click()

    walk.look("refused-with-changes")
    text = walk.text()
    assert "Which ECU exactly?" in text
    assert "VIP customer." not in text
    assert page.locator("#id_body").input_value() == "The LOG is attached."
    with page.expect_navigation():
        page.locator(".reply form [type=submit]").first.click()
    assert ticket.events.filter(author=customer.user, body="The LOG is attached.").exists()
