"""A workshop's owner invites a colleague, who joins from the e-mail's link, opens a ticket and
sees only their own; the owner follows it, lets the colleague see everything, then removes them.

Runs in English, Italian and French, at 1280 and 390 px; every stop is photographed and checked
(tests/browser/conftest.py): nothing wider than the window, no English left in Italian or
French, axe-core.
"""

import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext as _

from customers.models import Invitation, Member
from tests.customers.factories import PASSWORD, CustomerFactory, UnitFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "it", "fr")
WIDTHS = ("1280", "390")
COLLEAGUE = "marco.bianchi@officina-rossi.example"
COLLEAGUE_PASSWORD = "Gearbox-Tuesday-1987"


def said(language: str, message: str, **values) -> str:
    """What the portal says, in the journey's language."""
    with translation.override(language):
        return _(message) % values if values else _(message)


def log_in(walk, username: str, password: str) -> None:
    walk.visit("/account/login/")
    walk.page.fill("#id_username", username)
    walk.page.fill("#id_password", password)
    walk.page.locator("main form button[type=submit]").click()
    walk.page.wait_for_url(walk.url("/"))


def invitation_link(address: str, *, timeout: float = 15) -> str:
    """The link of the invitation e-mailed to `address` (sent by the live server, after commit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mail.outbox:
            if message.to == [address]:
                [link] = set(re.findall(r"https?://\S+/account/invitation/\S+/", message.body))
                return link
        time.sleep(0.1)
    raise AssertionError(f"no invitation e-mailed to {address}: {[m.to for m in mail.outbox]}")


def flash(page) -> str:
    return page.locator(".messages").inner_text()


def usable(page, selector: str) -> None:
    """A button a thumb can press: on screen, not covered, at least 24 px high (WCAG 2.5.8)."""
    button = page.locator(selector)
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    window = page.viewport_size["width"]
    assert box is not None, selector
    assert box["x"] >= 0, f"{selector} is off screen: {box}"
    assert box["x"] + box["width"] <= window, f"{selector} is off screen: {box}"
    assert box["height"] >= 24, f"{selector} is too small to press: {box}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_owner_invites_a_colleague_who_joins_and_is_removed(
    journey, service_hours, terms, language, width
):
    customer = CustomerFactory(
        company="Officina Rossi Srl", contact_name="Anna Rossi", language=language
    )
    unit = UnitFactory(customer=customer, serial_number="KS-000123")
    owners = TicketFactory(customer=customer, unit=unit, subject="Owner's ECU clone question")
    owner = journey("invitation-owner", language=language, width=width)
    page = owner.page

    # The owner invites a colleague who will see only the tickets they open.
    log_in(owner, customer.code, PASSWORD)
    owner.visit("/account/team/")
    owner.look("team")
    usable(page, "form.narrow-form button[type=submit]")
    page.fill("#id_email", COLLEAGUE)
    page.check("input[name=scope][value=own]")
    page.locator("form.narrow-form button[type=submit]").click()
    page.wait_for_url(owner.url("/account/team/"))
    assert said(language, "The invitation is on its way to %(email)s.", email=COLLEAGUE) in flash(
        page
    )
    assert COLLEAGUE in page.locator("table").last.inner_text()
    owner.look("team-invited")

    # The colleague opens the e-mail's link in a browser of their own.
    link = invitation_link(COLLEAGUE)
    colleague = journey("invitation-colleague", language=language, width=width)
    mate = colleague.page
    colleague.visit(urlsplit(link).path)
    colleague.look("accept")
    assert customer.company in colleague.text()
    assert said(language, "Only the tickets you open") in colleague.text()
    usable(mate, "main form button[type=submit]")
    mate.fill("#id_first_name", "Marco")
    mate.fill("#id_last_name", "Bianchi")
    mate.fill("#id_password1", COLLEAGUE_PASSWORD)
    mate.fill("#id_password2", COLLEAGUE_PASSWORD)
    mate.locator("main form button[type=submit]").click()
    mate.wait_for_url(colleague.url("/"))
    assert said(
        language,
        "Welcome to %(company)s's support: you log in with %(email)s from now on.",
        company=customer.company,
        email=COLLEAGUE,
    ) in flash(mate)
    colleague.look("home")
    member = Member.objects.select_related("user").get(customer=customer)
    assert Invitation.objects.get().status == Invitation.Status.ACCEPTED

    # The colleague opens a ticket, and their list holds theirs alone.
    colleague.visit(f"/tickets/new/?unit={unit.pk}")
    mate.fill("#id_subject", "Write fails at 87%")
    mate.fill("#id_vehicle_description", "Fiat Punto 1.3 Multijet 2012")
    mate.fill("#id_description", "Writing stops at 87% every time.")
    mate.fill("#id_error_message", "ERR 0x42 checksum")
    mate.check("#id_accept_terms")
    mate.locator("form.ticket-form button[type=submit]").click()
    mate.wait_for_url(re.compile(r".*/tickets/\d+/$"), timeout=30000)
    ticket = Ticket.objects.get(opened_by=member.user)
    colleague.look("ticket")
    colleague.visit("/tickets/?state=all")
    colleague.look("ticket-list")
    assert "Write fails at 87%" in colleague.text()
    assert owners.subject not in colleague.text()
    colleague.visit(f"/tickets/{owners.number}/")
    assert owners.subject not in colleague.text()

    # The owner sees it, with who opened it.
    owner.visit(f"/tickets/{ticket.number}/")
    owner.look("colleague-ticket")
    opened_by = page.locator("dt", has_text=said(language, "Opened by")).locator("xpath=..")
    assert "Marco Bianchi" in opened_by.inner_text()

    # The owner lets the colleague see every ticket: the colleague's next page shows it.
    owner.visit("/account/team/")
    scope_form = page.locator(f"form[action$='/account/team/members/{member.pk}/'].scope-form")
    scope_form.locator("input[value=all]").check()
    scope_form.locator("button[type=submit]").click()
    page.wait_for_url(owner.url("/account/team/"))
    owner.look("team-scope-changed")
    member.refresh_from_db()
    assert member.scope == Member.Scope.ALL
    colleague.visit("/tickets/?state=all")
    assert owners.subject in colleague.text()

    # The owner removes the colleague, after a confirmation.
    remove = f"form[action$='/account/team/members/{member.pk}/'] button[name=remove]"
    usable(page, remove)
    page.locator(remove).click()
    page.wait_for_url(owner.url("/account/team/"))
    assert owner.dialogs, "removing a colleague did not ask for confirmation"
    assert said(
        language,
        "%(name)s is no longer in your workshop: their log-in no longer works.",
        name="Marco Bianchi",
    ) in flash(page)
    assert COLLEAGUE not in page.locator("main").inner_text()
    owner.look("team-removed")

    # The colleague's session is over, and so is their password.
    colleague.visit(f"/tickets/{ticket.number}/")
    assert urlsplit(mate.url).path == "/account/login/"
    colleague.look("logged-out")
    mate.fill("#id_username", COLLEAGUE)
    mate.fill("#id_password", COLLEAGUE_PASSWORD)
    mate.locator("main form button[type=submit]").click()
    mate.wait_for_load_state("load")
    assert urlsplit(mate.url).path == "/account/login/"
    colleague.look("log-in-refused")
