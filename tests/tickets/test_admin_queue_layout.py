"""The queue and the ticket page as operators read them: names, marks, and room on every screen."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.roles import OPERATORS
from tests.core.factories import staff_with_role
from tests.customers.factories import PASSWORD
from tests.products.factories import ProductFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:tickets_ticket_changelist")


@pytest.fixture
def verdi(db):
    user = staff_with_role(OPERATORS, "operator")
    user.first_name, user.last_name = "Luca", "Verdi"
    user.save(update_fields=["first_name", "last_name"])
    return user


def taken_by(user, **kwargs) -> Ticket:
    return TicketFactory(
        status=Ticket.Status.TAKEN, assigned_to=user, taken_at=timezone.now(), **kwargs
    )


def test_ticket_page_names_the_operator_without_the_log_in_name(operator_client, verdi):
    ticket = taken_by(verdi)

    page = operator_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))

    html = page.content.decode()
    field = re.search(r'<div class="readonly">([^<]*Verdi[^<]*)</div>', html)
    assert field is not None
    assert field.group(1) == "Luca Verdi"
    assert ">operator<" not in html  # the log-in name, as a link to the user, beside the name


def test_queue_names_operators_by_their_full_name(operator_client, verdi):
    taken_by(verdi)
    TicketFactory()

    page = operator_client.get(QUEUE).content.decode()

    assert '<td class="field-operator">Luca Verdi</td>' in page
    assert 'class="ticket-nobody" title="Unassigned">—</span>' in page


def test_queue_marks_a_ticket_whose_software_is_outdated(operator_client):
    product = ProductFactory(name="KESS test", latest_version="7.200")
    TicketFactory(unit__product=product, software_version="7.100", software_outdated=True)
    TicketFactory(unit__product=product, software_version="7.200")

    page = operator_client.get(QUEUE).content.decode()

    old, current = re.findall(r'<td class="field-product_version">(.*?)</td>', page)
    assert old.startswith('KESS test <span class="ticket-outdated"')
    assert "7.100" in old
    assert "7.200" in old
    assert current == "KESS test"


def test_queue_keeps_a_long_subject_whole_behind_its_short_form(operator_client):
    subject = "Write fails at 87% on EDC16C39 after the checksum correction of the tuned file"
    TicketFactory(subject=subject)

    page = operator_client.get(QUEUE).content.decode()

    assert f'<span title="{subject}">' in page
    assert subject[:40] in page


def test_queue_marks_and_names_cost_no_query(operator_client, verdi):
    product = ProductFactory(latest_version="2.0")
    TicketFactory(unit__product=product)
    operator_client.get(QUEUE)
    with CaptureQueriesContext(connection) as one:
        operator_client.get(QUEUE)

    for number in range(20):
        taken_by(
            staff_with_role(OPERATORS, f"op{number}"),
            unit__product=ProductFactory(latest_version="2.0"),
            software_version="1.0",
            software_outdated=True,
        )
    with CaptureQueriesContext(connection) as many:
        page = operator_client.get(QUEUE).content.decode()

    assert page.count('class="ticket-outdated"') == 20
    assert len(many.captured_queries) == len(one.captured_queries)


# In a real browser ---------------------------------------------------------------------------

# How far the queue reaches past its box and past the window, and where its last column ends.
OVERFLOW = """
() => {
  const box = document.querySelector('#changelist .results');
  const operator = [...document.querySelectorAll('#result_list td.field-operator')].pop();
  const subject = document.querySelector('#result_list td.field-subject_short');
  const status = document.querySelector('#result_list td.field-status_badge');
  const inView = (cell) => {
    const r = cell.getBoundingClientRect();
    return r.width > 0 && r.left >= 0 && r.right <= innerWidth;
  };
  return {
    page: document.documentElement.scrollWidth - innerWidth,
    box: box.scrollWidth - box.clientWidth,
    operator: inView(operator), subject: inView(subject), status: inView(status),
  };
}
"""


@pytest.mark.browser
@pytest.mark.parametrize("language", ["it", "en", "fr"])
def test_queue_fits_a_laptop_and_a_phone_without_sideways_scrolling(
    live_server, transactional_db, chromium, language
):
    operator = staff_with_role(OPERATORS, "operator")
    operator.first_name, operator.last_name = "Luca", "Verdi"
    operator.save(update_fields=["first_name", "last_name"])
    product = ProductFactory(name="ECM Titanium", latest_version="3.300")
    for index, status in enumerate(Ticket.OPEN_STATUSES):
        TicketFactory(
            subject="Driver not found for Siemens SID807 after updating the ECU database",
            unit__product=product,
            unit__serial_number=f"ECM30019988{index}",
            software_version="3.213",
            software_outdated=True,
            status=status,
            assigned_to=None if status == Ticket.Status.NEW else operator,
            taken_at=None if status == Ticket.Status.NEW else timezone.now(),
        )

    for width, height in ((1280, 800), (390, 844)):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale=language)
        page = context.new_page()
        page.goto(f"{live_server.url}{reverse('admin:login')}")
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.goto(f"{live_server.url}{QUEUE}")
        found = page.evaluate(OVERFLOW)
        context.close()
        assert found == {
            "page": 0,
            "box": 0,
            "operator": True,
            "subject": True,
            "status": True,
        }, (width, found)
