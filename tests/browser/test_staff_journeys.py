"""The staff's journeys in the admin: an operator works the queue; a manager closes the service,
plans a maintenance window, posts a notice and reads the dashboard.

Each runs in English, Italian and French, at 1280 and 390 px; every stop is photographed and
checked (tests/browser/conftest.py); the portal pages a manager's change shows are checked with
axe-core too.
"""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.roles import MANAGERS, OPERATORS
from tests.core.factories import staff_with_role
from tests.customers.factories import PASSWORD, CustomerFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "it", "fr")
WIDTHS = ("1280", "390")


def admin_log_in(walk, user, *, next_path: str) -> None:
    walk.visit(f"/admin/login/?next={next_path}")
    walk.look("login")
    walk.page.fill("#id_username", user.username)
    walk.page.fill("#id_password", PASSWORD)
    walk.page.locator("#login-form [type=submit]").click()
    walk.page.wait_for_url(walk.url(next_path))


def action_form(page, name: str):
    return page.locator(f"form:has(input[name=_ticket_action][value={name}])")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_operator_takes_the_next_ticket_answers_and_closes_it(
    journey, service_hours, terms, language, width
):
    customer = CustomerFactory(language="en")
    older = TicketFactory(customer=customer, subject="Checksum error on EDC17")
    TicketFactory(customer=customer, subject="Slow reading on MED17", received_at=timezone.now())
    operator = staff_with_role(OPERATORS, "luca")
    walk = journey("operator", language=language, width=width)
    page = walk.page

    admin_log_in(walk, operator, next_path="/admin/tickets/ticket/")
    walk.look("queue")
    assert "Checksum error on EDC17" in walk.text()
    # What an operator reads first, subject and status, is on screen without scrolling sideways.
    window = page.viewport_size["width"]
    for column in ("td.field-subject_short", "td.field-status_badge"):
        box = page.locator(column).first.bounding_box()
        assert box is not None, column
        assert box["x"] + box["width"] <= window, f"{column} is off screen: {box}"

    page.locator("form.take-next-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/admin/tickets/ticket/{older.pk}/change/$"))
    walk.look("ticket-taken")

    reply = action_form(page, "reply")
    reply.locator("textarea").fill("Update the tool to the latest version, then retry.")
    reply.locator("[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/admin/tickets/ticket/{older.pk}/change/#timeline-end$"))
    walk.look("ticket-answered")
    older.refresh_from_db()
    assert older.status == Ticket.Status.ANSWERED
    assert [m.to for m in mail.outbox if "Update the tool" in m.body] == [[customer.user.email]]

    close = action_form(page, "close")
    with page.expect_navigation():
        close.locator("[type=submit]").click()
    with translation.override(language):
        assert _("This ticket is closed: it can no longer be answered.") in walk.text()
    walk.look("ticket-closed")
    older.refresh_from_db()
    assert older.status == Ticket.Status.CLOSED


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_manager_closes_the_service_plans_maintenance_and_reads_the_dashboard(
    journey, service_hours, terms, language, width
):
    TicketFactory(subject="Checksum error on EDC17")
    manager = staff_with_role(MANAGERS, "giulia")
    walk = journey("manager", language=language, width=width)
    page = walk.page
    today = timezone.localdate()

    admin_log_in(walk, manager, next_path="/admin/schedule/closure/add/")
    walk.look("closure-form")
    page.fill("#id_first_day", today.isoformat())
    page.fill("#id_last_day", today.isoformat())
    page.fill("#id_title_it", "Inventario")
    page.fill("#id_title_en", "Stocktaking")
    page.fill("#id_title_fr", "Inventaire")
    page.locator("input[name=_save]").click()
    page.wait_for_url("**/admin/schedule/closure/")
    walk.look("closure-saved")

    # The portal says so to a visitor, in the visitor's language.
    visitor = walk.context.browser.new_context(
        viewport=page.viewport_size, locale=walk.page.evaluate("navigator.language")
    )
    visitor.add_cookies([{"name": "django_language", "value": language, "url": walk.url()}])
    portal = visitor.new_page()
    portal.goto(walk.url("/"))
    title = {"it": "Inventario", "en": "Stocktaking", "fr": "Inventaire"}[language]
    assert title in portal.locator("body").inner_text()
    visitor.close()

    starts = timezone.localtime() + timedelta(days=3)
    walk.visit("/admin/schedule/maintenance/add/")
    walk.look("maintenance-form")
    page.fill("#id_starts_at_0", starts.date().isoformat())
    page.fill("#id_starts_at_1", "20:00")
    page.fill("#id_ends_at_0", starts.date().isoformat())
    page.fill("#id_ends_at_1", "21:30")
    page.fill("#id_text_it", "Aggiornamento del server.")
    page.fill("#id_text_en", "Server upgrade.")
    page.fill("#id_text_fr", "Mise à jour du serveur.")
    page.locator("input[name=_save]").click()
    page.wait_for_url("**/admin/schedule/maintenance/")
    walk.look("maintenance-saved")

    walk.visit("/admin/schedule/notice/")
    walk.look("notices")
    walk.visit("/admin/tickets/dashboard/")
    walk.look("dashboard")
    walk.visit("/admin/tickets/ticket/")
    walk.look("queue")
