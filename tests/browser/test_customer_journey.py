"""A workshop's journey: log in, open a ticket with a screenshot, meet the duplicate guard, reply
with a file, close; and a suspended workshop that can read but not write.

Each runs in English, Italian and French, at 1280 and 390 px; every stop is photographed and
checked (tests/browser/conftest.py).
"""

import io
import re

import pytest
from django.utils import translation
from django.utils.translation import gettext as _
from PIL import Image

from tests.customers.factories import PASSWORD, CustomerFactory, UnitFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment, Ticket

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "it", "fr")
WIDTHS = ("1280", "390")


def png(path, *, size=(900, 600)):
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def log_in(walk, customer) -> None:
    walk.visit("/account/login/")
    walk.look("login")
    walk.page.fill("#id_username", customer.code)
    walk.page.fill("#id_password", PASSWORD)
    walk.page.locator("main form button[type=submit]").click()
    walk.page.wait_for_url(walk.url("/"))


def said(language: str, message: str, **values) -> str:
    """What the portal says, in the journey's language."""
    with translation.override(language):
        return _(message) % values if values else _(message)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_workshop_opens_answers_and_closes_a_ticket(
    journey, service_hours, terms, tmp_path, language, width
):
    customer = CustomerFactory(company="Officina Rossi Srl", language=language)
    unit = UnitFactory(customer=customer, serial_number="KS-000123")
    walk = journey("customer", language=language, width=width)
    page = walk.page

    log_in(walk, customer)
    walk.look("home")

    # A new ticket for the unit, with a screenshot of the error.
    walk.visit(f"/tickets/new/?unit={unit.pk}")
    walk.look("new-ticket")
    page.fill("#id_subject", "Write fails at 87%")
    page.fill("#id_vehicle_description", "Fiat Punto 1.3 Multijet 2012")
    page.fill("#id_description", "Writing stops at 87% every time.")
    page.set_input_files("#id_screenshots", png(tmp_path / "errore.png"))
    page.check("#id_accept_terms")
    page.locator("form.ticket-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/tickets/\d+/$"), timeout=30000)
    ticket = customer.tickets.get()
    assert (
        said(
            language,
            "Ticket #%(number)s received. We will e-mail you at every update.",
            number=ticket.number,
        )
        in page.locator(".messages").inner_text()
    )
    walk.look("ticket-received")

    # A second ticket for the same unit: its open ticket is shown before anything is sent.
    walk.visit(f"/tickets/new/?unit={unit.pk}")
    guard = page.locator(f"a[href$='/tickets/{ticket.number}/']")
    assert guard.count() >= 1, "the unit's open ticket is not shown on the new-ticket form"
    walk.look("new-ticket-guard")

    # A reply with a photo; then the customer closes the ticket.
    walk.visit(f"/tickets/{ticket.number}/")
    page.fill("#id_body", "Here is the connector.")
    page.set_input_files("#id_files", png(tmp_path / "connettore.png", size=(640, 480)))
    page.locator(f"form[action$='/tickets/{ticket.number}/reply/'] button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/tickets/{ticket.number}/#latest$"), timeout=30000)
    assert (
        said(language, "Your message has been added to the ticket.")
        in page.locator(".messages").inner_text()
    )
    assert "Here is the connector." in page.locator("#latest").inner_text()
    walk.look("ticket-replied")

    page.locator("form.close-form button[type=submit]").click()
    page.wait_for_selector(".status-closed")
    assert (
        said(language, "Ticket #%(number)s is closed.", number=ticket.number)
        in page.locator(".messages").inner_text()
    )
    assert walk.dialogs, "closing did not ask for confirmation"
    walk.look("ticket-closed")

    walk.visit("/tickets/?state=all")
    walk.look("ticket-list")
    walk.visit("/account/units/")
    walk.look("units")
    walk.visit("/account/profile/")
    walk.look("profile")

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.attachments.count() == 2
    # Nothing left waiting for a form: every file sent belongs to the ticket.
    assert not Attachment.objects.filter(ticket__isnull=True).exists()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_suspended_workshop_reads_its_tickets_but_cannot_write(
    journey, service_hours, terms, language, width
):
    customer = CustomerFactory(company="Officina Bianchi", language=language)
    ticket = TicketFactory(customer=customer, subject="Checksum error on EDC17")
    customer.is_suspended = True
    customer.suspension_reason = "Contratto scaduto."
    customer.save(update_fields=["is_suspended", "suspension_reason"])
    walk = journey("suspended", language=language, width=width)
    page = walk.page

    log_in(walk, customer)
    walk.look("home")
    assert "Contratto scaduto." in walk.text()

    walk.visit(f"/tickets/{ticket.number}/")
    walk.look("ticket")
    assert "Checksum error on EDC17" in walk.text()
    assert page.locator("#id_body").count() == 0

    walk.visit("/tickets/new/")
    walk.look("new-ticket-refused")
    assert (
        page.locator("#id_subject").count() == 0
        or page.locator("form.ticket-form button[type=submit]").is_disabled()
    )
