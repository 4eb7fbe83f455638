"""No collisions: who else has a ticket open, and no write made against a ticket that moved on.

Two operators (and a customer) work the same ticket through the admin and the portal, each with
a test client of their own, their pages and posts interleaved.
"""

import html
import re
import socket
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.roles import OPERATORS
from tests.core.factories import staff_with_role
from tests.tickets.factories import TicketFactory
from tickets.desk.presence import PRESENCE_TTL
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_reply_staff

pytestmark = pytest.mark.django_db

CHANGED = "This ticket has changed since you opened this page, so nothing was saved."
CHANGES_HEADING = "What changed since you opened this page"


def operator_named(username: str, last_name: str):
    user = staff_with_role(OPERATORS, username)
    user.last_name = last_name
    user.save(update_fields=["last_name"])
    return user


@pytest.fixture
def anna():
    return operator_named("anna", "Rossi")


@pytest.fixture
def marco():
    return operator_named("marco", "Bianchi")


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def presence_url(ticket) -> str:
    return reverse("admin:tickets_ticket_presence", args=[ticket.pk])


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, f"no hidden {name} in the page"
    return html.unescape(found.group(1))


def open_page(client, ticket) -> str:
    """Load the ticket page as an operator's browser does; return it."""
    response = client.get(page_url(ticket))
    assert response.status_code == 200
    return response.content.decode()


def act(client, ticket, page: str, action: str, **fields):
    """Post one action form of a page that was loaded earlier, with the marker it carried."""
    data = {
        "_ticket_action": action,
        f"{action}-seen": hidden(page, f"{action}-seen"),
        **{f"{action}-{key}": value for key, value in fields.items()},
    }
    return client.post(page_url(ticket), data)


def reply(client, ticket, page, body, visibility="public"):
    return act(client, ticket, page, "reply", body=body, visibility=visibility, new_status="")


def changes_box(page: str) -> str:
    """The list of changes shown beside a refused form."""
    start = page.index(CHANGES_HEADING)
    return page[start : page.index("</section>", start)]


# The staff's ticket page --------------------------------------------------------------------


def test_a_reply_written_against_a_changed_ticket_is_not_saved_and_keeps_its_text(
    ticket, anna, marco
):
    annas, marcos = client_of(anna), client_of(marco)
    annas_page = open_page(annas, ticket)
    marcos_page = open_page(marcos, ticket)

    assert reply(marcos, ticket, marcos_page, "Update the firmware to 3.2.").status_code == 302
    response = reply(annas, ticket, annas_page, "Try another OBD cable first.")

    assert response.status_code == 400
    page = response.content.decode()
    assert CHANGED in page
    # What changed: Marco took the ticket and answered, with his name, the time and his text.
    changes = changes_box(page)
    assert "Update the firmware to 3.2." in changes
    assert "Marco Bianchi" in changes
    assert "Taken in charge" in changes
    assert "Submitted" not in changes  # seen already
    # Her text is still in the form, and nothing of hers was saved.
    assert "Try another OBD cable first.</textarea>" in page
    assert not TicketEvent.objects.filter(ticket=ticket, author=anna).exists()

    # Sent again from the page shown now, it confirms: saved.
    confirmed = reply(annas, ticket, page, "Try another OBD cable first.")
    assert confirmed.status_code == 302
    assert ticket.events.get(author=anna).body == "Try another OBD cable first."


def test_a_service_target_warning_written_meanwhile_does_not_hold_up_the_reply(ticket, anna):
    annas = client_of(anna)
    page = open_page(annas, ticket)
    # The beat warns of the target while she types: that changes nothing she was answering.
    TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.TARGET_WARNING, body="Due soon.", is_public=False
    )
    assert reply(annas, ticket, page, "Try another OBD cable first.").status_code == 302
    message = ticket.events.get(author=anna, kind=TicketEvent.Kind.MESSAGE)
    assert message.body == "Try another OBD cable first."


def test_a_ticket_that_changes_again_before_the_confirmation_asks_again(ticket, anna, marco):
    annas, marcos = client_of(anna), client_of(marco)
    annas_page = open_page(annas, ticket)
    reply(marcos, ticket, open_page(marcos, ticket), "First answer.")
    refused = reply(annas, ticket, annas_page, "My answer.").content.decode()

    # Before Anna confirms, Marco adds an internal note.
    note = reply(marcos, ticket, open_page(marcos, ticket), "Customer called.", visibility="note")
    assert note.status_code == 302
    again = reply(annas, ticket, refused, "My answer.")

    assert again.status_code == 400
    changes = changes_box(again.content.decode())
    assert "Customer called." in changes
    assert "internal, not seen by the customer" in changes
    assert "First answer." not in changes  # she saw it on the refused page
    assert reply(annas, ticket, again.content.decode(), "My answer.").status_code == 302
    assert ticket.events.filter(author=anna, body="My answer.").count() == 1


def test_a_refusal_for_another_reason_keeps_the_old_marker(ticket, anna, marco):
    annas, marcos = client_of(anna), client_of(marco)
    annas_page = open_page(annas, ticket)
    reply(marcos, ticket, open_page(marcos, ticket), "Marco's answer.")

    # An empty reply is refused for being empty; the form shown again still carries the marker
    # of the page she wrote on, so her next try is told about Marco's answer.
    empty = reply(annas, ticket, annas_page, "")
    assert empty.status_code == 400
    assert hidden(empty.content.decode(), "reply-seen") == hidden(annas_page, "reply-seen")
    response = reply(annas, ticket, empty.content.decode(), "Now with text.")

    assert response.status_code == 400
    assert CHANGED in response.content.decode()
    assert not TicketEvent.objects.filter(ticket=ticket, author=anna).exists()


@pytest.mark.parametrize(
    ("action", "fields", "kept"),
    [
        ("status", {"status": Ticket.Status.WAITING_CUSTOMER}, None),
        ("close", {"body": "Solved by the update."}, "Solved by the update.</textarea>"),
    ],
)
def test_a_stale_status_change_or_close_is_not_saved(ticket, anna, marco, action, fields, kept):
    annas, marcos = client_of(anna), client_of(marco)
    annas_page = open_page(annas, ticket)
    reply(marcos, ticket, open_page(marcos, ticket), "Please send the LOG file.")

    response = act(annas, ticket, annas_page, action, **fields)

    assert response.status_code == 400
    page = response.content.decode()
    assert CHANGED in page
    assert "Please send the LOG file." in changes_box(page)
    if kept:
        assert kept in page
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.TAKEN  # taken by Marco, and nothing of Anna's
    assert not TicketEvent.objects.filter(ticket=ticket, author=anna).exists()

    assert act(annas, ticket, page, action, **fields).status_code == 302
    ticket.refresh_from_db()
    expected = Ticket.Status.CLOSED if action == "close" else fields.get("status")
    assert ticket.status == expected


def test_a_stale_duplicate_mark_is_not_saved(ticket, anna, marco):
    original = TicketFactory(customer=ticket.customer, unit=ticket.unit)
    annas, marcos = client_of(anna), client_of(marco)
    annas_page = open_page(annas, ticket)
    reply(marcos, ticket, open_page(marcos, ticket), "Looking into it.", visibility="note")

    response = act(annas, ticket, annas_page, "duplicate", original=str(original.number))

    assert response.status_code == 400
    assert "Looking into it." in changes_box(response.content.decode())
    ticket.refresh_from_db()
    assert ticket.is_open
    assert ticket.duplicate_of is None


def test_a_take_over_makes_the_page_stale(ticket, anna, marco):
    """Taking a ticket is seen: the operator changes, and with it what a reply means."""
    annas, marcos = client_of(anna), client_of(marco)
    annas_page = open_page(annas, ticket)
    assert marcos.post(page_url(ticket), {"_ticket_action": "take"}).status_code == 302

    response = reply(annas, ticket, annas_page, "I'll handle it.", visibility="note")

    assert response.status_code == 400
    assert "Taken in charge" in changes_box(response.content.decode())


def test_a_ticket_closed_meanwhile_shows_what_happened_and_the_text_to_copy(ticket, anna, marco):
    annas, marcos = client_of(anna), client_of(marco)
    annas_page = open_page(annas, ticket)
    closed = act(marcos, ticket, open_page(marcos, ticket), "close", body="Duplicate call.")
    assert closed.status_code == 302

    response = reply(annas, ticket, annas_page, "A long answer worth keeping.")

    assert response.status_code == 400
    page = response.content.decode()
    assert "This ticket is closed" in page
    assert "Duplicate call." in changes_box(page)
    assert "readonly>A long answer worth keeping.</textarea>" in page
    assert not TicketEvent.objects.filter(ticket=ticket, author=anna).exists()


def test_a_reply_from_an_unchanged_page_is_saved_at_once(operator_client, operator, ticket):
    page = open_page(operator_client, ticket)

    assert reply(operator_client, ticket, page, "Straight through.").status_code == 302
    # The page after it carries a marker of its own: a second reply goes through too.
    again = reply(operator_client, ticket, open_page(operator_client, ticket), "Again.")
    assert again.status_code == 302
    assert ticket.events.filter(author=operator, kind=TicketEvent.Kind.MESSAGE).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_replies_sent_at_the_same_instant_from_the_same_state_cannot_both_pass(
    require_postgres,
):
    ticket = TicketFactory()
    operators = [operator_named(f"racer{i}", "Racer") for i in range(2)]
    clients = [client_of(op) for op in operators]
    pages = [open_page(client, ticket) for client in clients]
    barrier = threading.Barrier(2)
    codes: list[int] = []
    errors: list[BaseException] = []

    def send(client, page, text):
        try:
            barrier.wait(timeout=30)
            codes.append(reply(client, ticket, page, text).status_code)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [
        threading.Thread(target=send, args=(client, page, f"Answer {i}"))
        for i, (client, page) in enumerate(zip(clients, pages, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(codes) == [302, 400]
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.MESSAGE).count() == 1


# The customer's reply form ------------------------------------------------------------------


@pytest.fixture
def portal(service_open, customer_client):
    return customer_client


def detail(client, ticket) -> str:
    response = client.get(reverse("tickets:detail", args=[ticket.number]))
    assert response.status_code == 200
    return response.content.decode()


def customer_reply(client, ticket, page, body):
    return client.post(
        reverse("tickets:reply", args=[ticket.number]),
        {
            "body": body,
            "seen": hidden(page, "seen"),
            "form_token": hidden(page, "form_token"),
        },
    )


def test_the_customer_is_shown_the_reply_that_arrived_while_writing(portal, ticket, marco):
    customers_page = detail(portal, ticket)
    marcos = client_of(marco)
    reply(marcos, ticket, open_page(marcos, ticket), "Which ECU exactly?")
    note = reply(marcos, ticket, open_page(marcos, ticket), "SECRET: VIP", visibility="note")
    assert note.status_code == 302

    response = customer_reply(portal, ticket, customers_page, "Here is the LOG you asked for.")

    assert response.status_code == 400
    page = response.content.decode()
    assert CHANGED in page
    changes = changes_box(page)
    assert "Which ECU exactly?" in changes
    assert "Technical support" in changes
    # Internal notes never reach the customer, not even as "a change".
    assert "SECRET" not in page
    assert "Here is the LOG you asked for.</textarea>" in page
    assert not ticket.events.filter(author=ticket.customer.user, kind="message").exists()

    confirmed = customer_reply(portal, ticket, page, "Here is the LOG you asked for.")
    assert confirmed.status_code == 302
    assert ticket.events.get(author=ticket.customer.user, kind="message").body == (
        "Here is the LOG you asked for."
    )


def test_an_internal_note_does_not_hold_up_the_customer(portal, ticket, marco):
    customers_page = detail(portal, ticket)
    marcos = client_of(marco)
    reply(marcos, ticket, open_page(marcos, ticket), "Known issue, KB 7.", visibility="note")

    response = customer_reply(portal, ticket, customers_page, "Any news?")

    assert response.status_code == 302
    assert ticket.events.filter(author=ticket.customer.user, body="Any news?").exists()


def test_the_customers_form_carries_what_the_page_showed_and_nothing_else(portal, ticket, marco):
    """The marker counts the public events: what the customer sees, no id, no internal note."""
    ticket_reply_staff(ticket=ticket, operator=marco, body="Hello.")
    ticket_reply_staff(ticket=ticket, operator=marco, body="Internal.", is_public=False)
    public = ticket.events.filter(is_public=True)
    assert public.count() == 4  # submitted, taken, the message, answered

    assert hidden(detail(portal, ticket), "seen") == "4.answered"


def test_a_ticket_closed_while_the_customer_writes_keeps_the_text_to_copy(portal, ticket, marco):
    customers_page = detail(portal, ticket)
    marcos = client_of(marco)
    act(marcos, ticket, open_page(marcos, ticket), "close", body="Solved on the phone.")

    response = customer_reply(portal, ticket, customers_page, "One more detail.")

    assert response.status_code == 400
    page = response.content.decode()
    assert "This ticket is closed: open a new one for a new problem." in page
    assert "Solved on the phone." in changes_box(page)
    assert "readonly>One more detail.</textarea>" in page
    assert not ticket.events.filter(author=ticket.customer.user, body="One more detail.").exists()


# Presence ------------------------------------------------------------------------------------


def presence_of(page: str) -> str:
    found = re.search(r'<p class="ticket-presence"[^>]*>(.*?)</p>', page, re.S)
    assert found, "no presence box"
    return found.group(1).strip()


def test_the_page_shows_who_else_has_it_open_and_not_oneself(ticket, anna, marco):
    annas, marcos = client_of(anna), client_of(marco)
    assert presence_of(open_page(annas, ticket)) == ""

    page = open_page(marcos, ticket)

    assert presence_of(page) == "Also open by: Anna Rossi"
    assert 'role="status"' in page
    assert "tickets/presence.js" in page
    # Anna's next ping tells her about Marco, and not about herself.
    visit = re.search(r'data-visit="([0-9a-f]+)"', page).group(1)
    answer = annas.post(presence_url(ticket), {"visit": visit})
    assert answer.status_code == 200
    assert answer.content.decode() == "Also open by: Marco Bianchi"


def test_presence_of_a_page_left_or_silent_expires(ticket, anna, marco):
    annas, marcos = client_of(anna), client_of(marco)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        open_page(annas, ticket)
        traveller.shift(timedelta(seconds=PRESENCE_TTL - 10))
        assert presence_of(open_page(marcos, ticket)) == "Also open by: Anna Rossi"

        # Anna's tab stopped pinging (hidden, closed without a goodbye): she fades out.
        traveller.shift(timedelta(seconds=11))
        assert presence_of(open_page(marcos, ticket)) == ""


def test_leaving_removes_the_entry_of_that_page_only(ticket, anna, marco):
    annas, marcos = client_of(anna), client_of(marco)
    old_visit = re.search(r'data-visit="([0-9a-f]+)"', open_page(annas, ticket)).group(1)
    new_visit = re.search(r'data-visit="([0-9a-f]+)"', open_page(annas, ticket)).group(1)

    # The goodbye of the page she left arrives after the next page said hello: ignored.
    assert annas.post(presence_url(ticket), {"visit": old_visit, "leave": "1"}).status_code == 204
    assert presence_of(open_page(marcos, ticket)) == "Also open by: Anna Rossi"

    annas.post(presence_url(ticket), {"visit": new_visit, "leave": "1"})
    assert presence_of(open_page(marcos, ticket)) == ""


def test_the_presence_ping_is_staff_only_and_posted(ticket, anna, customer_client):
    assert client_of(anna).get(presence_url(ticket)).status_code == 405
    response = customer_client.post(presence_url(ticket), {"visit": "x"})
    assert response.status_code == 302  # to the admin's log-in
    assert "/login/" in response["Location"]


def test_the_presence_ping_asks_the_database_only_who_is_asking(
    ticket, anna, django_assert_max_num_queries
):
    annas = client_of(anna)
    annas.post(presence_url(ticket), {"visit": "a"})
    # The session with its user, then the user's and their groups' permissions: no ticket.
    with django_assert_max_num_queries(3):
        annas.post(presence_url(ticket), {"visit": "a"})


@pytest.fixture
def cache_down(settings):
    """The production cache pointed at a port where nothing listens: Redis is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"RETRY_AFTER": 0.3, "socket_timeout": 0.2, "socket_connect_timeout": 0.2},
        }
    }


def test_with_the_cache_down_presence_shows_nobody_and_the_page_works(
    cache_down, ticket, anna, marco
):
    annas, marcos = client_of(anna), client_of(marco)
    open_page(annas, ticket)
    page = open_page(marcos, ticket)

    assert presence_of(page) == ""
    answer = annas.post(presence_url(ticket), {"visit": "a"})
    assert answer.status_code == 200
    assert answer.content.decode() == ""
    # The guard is the database's: it works without the cache.
    assert reply(marcos, ticket, page, "Still answering.").status_code == 302
