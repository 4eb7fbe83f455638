"""Staff read every date day first, on 24 hours, in the service's zone, whatever their language."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from tests.customers.factories import StaffFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")
RECEIVED = datetime(2026, 11, 27, 10, 5, tzinfo=ROME)  # a Friday; 09:05 in UTC
LANGUAGES = ["en", "it", "fr"]
# What Django's English wrote: month first, "a.m.", abbreviated months.
AMERICAN = re.compile(r"11/27/2026|\b[ap]\.m\.|Nov\. 27")


def test_queue_writes_the_received_time_day_first_in_every_language(operator_client):
    TicketFactory(received_at=RECEIVED)
    for language in LANGUAGES:
        page = operator_client.get(
            reverse("admin:tickets_ticket_changelist"), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()

        assert '<td class="field-received">27/11/2026 10:05</td>' in page, language
        assert not AMERICAN.search(page), language


def test_queue_shows_the_service_zone_even_when_the_server_runs_in_another(
    operator_client, settings
):
    settings.TIME_ZONE = "UTC"
    TicketFactory(received_at=RECEIVED)

    page = operator_client.get(reverse("admin:tickets_ticket_changelist")).content.decode()

    assert "27/11/2026 10:05" in page
    assert "09:05" not in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_ticket_page_writes_every_instant_in_one_style(operator_client, operator, language):
    ticket = TicketFactory(
        received_at=RECEIVED,
        status=Ticket.Status.TAKEN,
        assigned_to=operator,
        taken_at=datetime(2026, 12, 2, 10, 0, tzinfo=ROME),
    )
    ticket.events.update(created_at=RECEIVED)

    page = operator_client.get(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()

    assert page.count("27/11/2026 10:05") >= 2  # the "received at" field and the timeline
    assert "02/12/2026 10:00" in page  # taken in charge
    assert not AMERICAN.search(page)
    assert "Dicembre" not in page
    assert "Venerdì" not in page


def test_dashboard_dates_and_chart_axis_are_day_first_alike(client):
    manager = StaffFactory()
    manager.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(manager)
    TicketFactory(received_at=RECEIVED)

    with time_machine.travel(datetime(2026, 12, 3, 11, 0, tzinfo=ROME), tick=False):
        page = client.get(
            reverse("tickets_admin:dashboard"), HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()

    # Ninety days of first responses, since Friday 4 September; twelve weeks from Monday 14.
    assert "since 04/09/2026" in page
    assert "09/04/2026" not in page
    assert "<td>14/09/2026</td>" in page
    axis = re.findall(r'text-anchor="middle" fill="#5f6b7a">([^<]+)</text>', page)
    assert axis[0] == "14/09"
    assert axis[-1] == "30/11"
    assert "received 27/11/2026 10:05" in page
    assert not AMERICAN.search(page)


def test_dashboard_axis_writes_decimals_in_the_readers_figures(client):
    manager = StaffFactory()
    manager.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client.force_login(manager)
    for minutes in range(6):  # six tickets: an axis of 0 to 10 in steps of 2.5
        TicketFactory(received_at=datetime(2026, 11, 30, 9, minutes, tzinfo=ROME))

    with time_machine.travel(datetime(2026, 12, 3, 11, 0, tzinfo=ROME), tick=False):
        italian = client.get(reverse("tickets_admin:dashboard"), HTTP_ACCEPT_LANGUAGE="it")
        english = client.get(reverse("tickets_admin:dashboard"), HTTP_ACCEPT_LANGUAGE="en")

    assert ">7,5</text>" in italian.content.decode()
    assert ">7.5</text>" in english.content.decode()
