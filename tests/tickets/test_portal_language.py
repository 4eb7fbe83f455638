"""The customer's ticket pages speak the reader's language, and tell others' words from ours."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from customers.services import customer_suspend
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket, TicketEvent
from tickets.remote.services import remote_access_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]

ROME = ZoneInfo("Europe/Rome")
PORTAL_TEXT = (
    "The operator asked to connect to your computer with TeamViewer to work on this ticket."
)
# The Italian text the request used to store in the event, whoever read it later.
STORED_ITALIAN = "Apri il ticket nel portale per confermare e inviare i dati di accesso"
REASON = "Counterfeit software found during a remote session (terms, §5)."


@pytest.fixture
def italian_ticket(customer, unit, terms, operator):
    return TicketFactory(
        customer=customer,
        unit=unit,
        terms_version=terms,
        language="it",
        status=Ticket.Status.TAKEN,
        assigned_to=operator,
        taken_at=timezone.now(),
    )


def detail(client, ticket, language):
    url = reverse("tickets:detail", args=[ticket.number])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


# Remote assistance: the request's text ----------------------------------------------------------


def test_a_request_without_a_message_stores_no_text_of_its_own(italian_ticket, operator):
    remote_access_request(ticket=italian_ticket, operator=operator)

    event = italian_ticket.events.get(kind=TicketEvent.Kind.REMOTE_REQUEST)
    assert event.body == ""


@pytest.mark.parametrize("language", ["en", "fr", "it"])
def test_the_request_reads_in_the_language_of_the_page(
    customer_client, italian_ticket, operator, language
):
    remote_access_request(ticket=italian_ticket, operator=operator)

    page = detail(customer_client, italian_ticket, language)

    with translation.override(language):
        expected = gettext(PORTAL_TEXT)
    assert expected in page
    assert page.count(expected) == 1
    assert STORED_ITALIAN not in page
    # Whoever reads it is on the ticket already: it points to the steps on this page.
    assert 'href="#remote-access"' in page
    assert "Open the ticket" not in page


def test_the_operators_own_message_replaces_the_standard_text(
    customer_client, italian_ticket, operator
):
    remote_access_request(
        ticket=italian_ticket, operator=operator, message="Please connect at three."
    )

    page = detail(customer_client, italian_ticket, "en")

    assert "Please connect at three." in page
    assert PORTAL_TEXT not in page


def test_the_request_email_tells_the_customer_once_to_open_the_portal(
    italian_ticket, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        remote_access_request(ticket=italian_ticket, operator=operator)

    (message,) = [m for m in mail.outbox if italian_ticket.customer.user.email in m.to]
    with translation.override("it"):
        told = gettext(
            "The operator asks for a remote assistance session with TeamViewer. Open the ticket "
            "to read the instructions, confirm the authorisation and the backup warning, and give "
            "your TeamViewer ID and password through the portal. Never send the password by "
            "e-mail."
        )
    assert message.body.count(told) == 1
    assert STORED_ITALIAN not in message.body
    assert "TeamViewer" not in message.body.replace(told, "")


# A suspension: the manager's words, quoted --------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "it", "fr"])
def test_a_suspension_reason_is_quoted_as_our_staffs_words(
    customer_client, customer, italian_ticket, operator, language
):
    remote_access_request(ticket=italian_ticket, operator=operator)
    customer_suspend(customer=customer, reason=REASON)
    with translation.override(language):
        quoted = gettext("Reason given by our staff: “%(reason)s”") % {"reason": REASON}

    pages = {
        "home": customer_client.get("/", HTTP_ACCEPT_LANGUAGE=language),
        "new ticket": customer_client.get(reverse("tickets:create"), HTTP_ACCEPT_LANGUAGE=language),
        "remote assistance": customer_client.get(
            reverse("tickets:detail", args=[italian_ticket.number]),
            HTTP_ACCEPT_LANGUAGE=language,
        ),
    }

    for name, response in pages.items():
        text = re.sub(r"[ \t\r\n]+", " ", response.content.decode())  # no-break spaces kept
        assert quoted in text, name
        assert "Reason:" not in text, name


# The ticket page: one style for every instant --------------------------------------------------


@pytest.mark.parametrize("language", ["en", "it", "fr"])
def test_the_ticket_page_writes_every_instant_the_same_way(
    customer_client, customer, unit, terms, language
):
    received = datetime(2026, 11, 27, 10, 5, tzinfo=ROME)  # a Friday
    ticket = TicketFactory(customer=customer, unit=unit, terms_version=terms, received_at=received)
    ticket.events.update(created_at=received)
    Ticket.objects.filter(pk=ticket.pk).update(terms_accepted_at=received)

    page = detail(customer_client, ticket, language)
    page = page[page.index("<main") : page.index("</main>")]

    assert page.count("27/11/2026 10:05") == 3  # received, terms accepted, submitted
    for long_form in ("Friday", "Venerdì", "venerdì", "vendredi", "November", "novembre"):
        assert long_form not in page, long_form
