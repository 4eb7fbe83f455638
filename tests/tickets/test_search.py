"""Staff's full-text search: ranked, highlighted, paginated without counting, kept current.

The tests marked postgres exercise the production path (the TicketSearch row kept by the
triggers of migration 0014, pg_trgm); the others hold on the embedded SQLite default as well.
"""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.roles import OPERATORS
from tests.conftest import make_image, ticket_submit
from tests.core.factories import staff_with_role
from tests.customers.factories import CustomerFactory, StaffFactory, UnitFactory
from tests.tickets.factories import TicketFactory
from tests.tickets.inbound_mail import reply
from tickets import selectors
from tickets import services as tickets_services
from tickets.inbound.services import inbound_mail_receive
from tickets.models import Ticket, TicketSearch
from tickets.selectors import SEARCH_PAGE_SIZE
from tickets.uploads import clean_upload

pytestmark = pytest.mark.django_db
postgres = [pytest.mark.postgres, pytest.mark.usefixtures("require_postgres")]

SEARCH = reverse("admin:tickets_ticket_search")
QUEUE = reverse("admin:tickets_ticket_changelist")


def search(client, query, **params):
    response = client.get(SEARCH, {"q": query, **params})
    assert response.status_code == 200, response.status_code
    return response


def found(response) -> list[int]:
    """The ticket numbers of a results page, in the order shown."""
    page = response.content.decode()
    return [int(n) for n in re.findall(r'class="ticket-search-title"><a href="[^"]*">#(\d+)', page)]


def ticket(days_ago=0, **fields):
    fields.setdefault("subject", "Tool problem")
    fields.setdefault("description", "It does not work.")
    fields.setdefault("error_message", "")
    return TicketFactory(received_at=timezone.now() - timedelta(days=days_ago), **fields)


# Ranking and languages -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_results_are_ranked_subject_first_then_problem_then_messages_ties_newest_first(
    operator_client, operator
):
    # Stored in the order received, as the portal does.
    older_twin = ticket(days_ago=5, subject="Immobilizer off")
    in_subject = ticket(days_ago=3, subject="Immobilizer off")
    in_description = ticket(days_ago=2, description="The immobilizer refuses the key.")
    in_message = ticket(days_ago=1)
    tickets_services.ticket_reply_staff(
        ticket=in_message, operator=operator, body="Sostituire l'immobilizer e riprovare."
    )
    ticket(subject="Checksum wrong")  # not a match

    assert found(search(operator_client, "immobilizer")) == [
        in_subject.number,
        older_twin.number,
        in_description.number,
        in_message.number,
    ]


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("La centralina non risponde in lettura.", "centraline"),
        ("Le centraline Bosch non rispondono.", "centralina"),
        ("Flashing the ECU stops halfway.", "flash"),
        ("The flash of the ECU stops halfway.", "flashing"),
    ],
)
def test_italian_and_english_words_are_found_by_their_stem(operator_client, stored, typed):
    wanted = ticket(description=stored)
    ticket(description="Nothing to do with it.")

    assert found(search(operator_client, typed)) == [wanted.number]


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_two_words_must_both_match_and_a_phrase_can_be_quoted(operator_client):
    both = ticket(subject="Centralina EDC17 bloccata", description="Write fails at 87%.")
    ticket(subject="Centralina EDC16 bloccata")
    ticket(subject="EDC17 read OK")

    assert found(search(operator_client, "centralina EDC17")) == [both.number]
    assert found(search(operator_client, '"write fails"')) == [both.number]


# Highlighting ----------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_highlights_are_marked_and_everything_else_is_escaped(operator_client, operator):
    hostile = ticket(
        subject='Centralina <script>alert("s")</script>',
        description='<img src=x onerror=alert(1)> la centralina "muore" & riparte',
    )
    tickets_services.ticket_reply_staff(
        ticket=hostile, operator=operator, body="</mark><b>centralina</b>\ue000", is_public=False
    )

    page = search(operator_client, "centralina").content.decode()

    assert found_in(page) == [hostile.number]
    assert "<mark>Centralina</mark> &lt;script&gt;" in page
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "<b>centralina" not in page
    assert page.count("<mark>") == page.count("</mark>")
    assert "\ue000" not in page


def found_in(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="ticket-search-title"><a href="[^"]*">#(\d+)', page)]


# Partial codes (pg_trgm) -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
@pytest.mark.parametrize("typed", ["KS0012", "0012", "ks00123", "12345"])
def test_part_of_a_serial_number_finds_the_ticket(operator_client, typed):
    customer = CustomerFactory(code="W-7781")
    wanted = ticket(
        unit=UnitFactory(customer=customer, serial_number="KS0012345"), customer=customer
    )
    ticket(unit=UnitFactory(serial_number="KS0099999"))

    page = search(operator_client, typed).content.decode()

    assert found_in(page) == [wanted.number]
    assert f"<mark>{typed.upper()}</mark>" in page


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_part_of_a_customer_code_or_an_ecu_identification_finds_the_ticket(operator_client):
    customer = CustomerFactory(code="OFF-55213")
    by_customer = ticket(customer=customer, unit=UnitFactory(customer=customer))
    by_ecu = ticket(ecu_identification="0281013409")
    ticket()

    assert found(search(operator_client, "55213")) == [by_customer.number]
    assert found(search(operator_client, "1013409")) == [by_ecu.number]


# Kept current by every path that writes ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_a_staff_reply_and_an_internal_note_become_searchable_at_once(operator_client, operator):
    worked = ticket()
    assert found(search(operator_client, "gateway")) == []

    tickets_services.ticket_reply_staff(
        ticket=worked, operator=operator, body="Disconnect the gateway first."
    )
    assert found(search(operator_client, "gateway")) == [worked.number]

    tickets_services.ticket_reply_staff(
        ticket=worked, operator=operator, body="Known issue: bench mode needed.", is_public=False
    )
    assert found(search(operator_client, "bench mode")) == [worked.number]


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres", "service_open")
def test_a_customer_reply_and_its_file_from_the_portal_become_searchable(
    operator_client, customer, unit, terms
):
    worked = ticket_submit(customer=customer, unit=unit, terms=terms)
    portal = Client()
    portal.force_login(customer.user)

    response = portal.post(
        reverse("tickets:reply", args=[worked.number]),
        {"body": "Il cruscotto resta spento.", "files": make_image("quadro_strumenti.png")},
    )

    assert response.status_code == 302
    assert found(search(operator_client, "cruscotto")) == [worked.number]
    assert found(search(operator_client, "quadro strumenti")) == [worked.number]


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_a_reply_by_e_mail_with_a_file_becomes_searchable(operator_client, answered):
    photo = make_image("connettore.png").read()

    kept = inbound_mail_receive(
        raw=reply(
            answered,
            "Ho cambiato il connettore OBD, niente.",
            files=[("connettore_obd.png", photo, "image/png")],
        )
    )

    assert kept.event is not None
    assert found(search(operator_client, "connettore OBD")) == [answered.number]
    assert found(search(operator_client, "connettore_obd.png")) == [answered.number]


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres", "service_open")
def test_a_new_ticket_s_text_and_files_are_searchable_at_once(
    operator_client, customer, unit, terms
):
    worked = ticket_submit(
        customer=customer,
        unit=unit,
        terms=terms,
        subject="Lettura EEPROM impossibile",
        files=[("screenshot", clean_upload(make_image("errore_eeprom.png")))],
    )

    assert found(search(operator_client, "eeprom")) == [worked.number]
    assert found(search(operator_client, "errore_eeprom.png")) == [worked.number]


# The queue's exact search, pagination, query count, permissions -------------------------------


def test_an_exact_number_code_or_serial_still_filters_the_queue(operator_client):
    wanted = ticket(subject="Centralina muta")

    for exact in (f"#{wanted.number}", wanted.customer.code, wanted.serial_number):
        response = operator_client.get(QUEUE, {"q": exact})
        assert response.status_code == 200
        assert f"{wanted.number}</a>" in response.content.decode()
        # Typed in the search page, an exact match goes to the queue too.
        moved = operator_client.get(SEARCH, {"q": exact})
        assert moved.status_code == 302
        assert moved["Location"].startswith(QUEUE)


def test_words_typed_in_the_queue_go_to_the_search(operator_client):
    wanted = ticket(subject="Centralina muta")

    response = operator_client.get(QUEUE, {"q": "centralina muta"})

    assert response.status_code == 302
    assert response["Location"] == f"{SEARCH}?q=centralina+muta"
    assert found(operator_client.get(response["Location"])) == [wanted.number]


def test_closed_tickets_are_found_too(operator_client):
    done = ticket(subject="Centralina muta", status="closed", closed_at=timezone.now())

    assert found(search(operator_client, "centralina")) == [done.number]


def test_pages_go_next_and_previous_without_counting(operator_client):
    # Stored oldest first, as received; shown newest first.
    made = [
        ticket(days_ago=n, subject=f"Centralina muta {n}")
        for n in reversed(range(SEARCH_PAGE_SIZE + 3))
    ][::-1]

    with CaptureQueriesContext(connection) as queries:
        first = search(operator_client, "centralina")
    second = search(operator_client, "centralina", p=2)

    assert found(first) == [t.number for t in made[:SEARCH_PAGE_SIZE]]  # equal rank: newest first
    assert found(second) == [t.number for t in made[SEARCH_PAGE_SIZE:]]
    assert 'rel="next"' in first.content.decode()
    assert 'rel="prev"' not in first.content.decode()
    assert 'rel="prev"' in second.content.decode()
    assert 'rel="next"' not in second.content.decode()
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_the_page_runs_as_many_queries_for_thirty_results_as_for_one(operator_client):
    def queries_for(n: int) -> int:
        for i in range(n):
            ticket(days_ago=i, subject=f"Scheda {n} risultati {i}")
        search(operator_client, f"{n}")  # warm the session and the calendar
        with CaptureQueriesContext(connection) as queries:
            response = search(operator_client, f"scheda {n} risultati")
        assert len(found(response)) == min(n, SEARCH_PAGE_SIZE)
        return len(queries.captured_queries)

    assert queries_for(1) == queries_for(30)


def test_only_staff_who_may_view_tickets_can_search(client, db):
    ticket(subject="Centralina muta")
    customer = CustomerFactory()
    client.force_login(customer.user)
    assert client.get(SEARCH, {"q": "centralina"}).status_code == 302  # to the admin's log-in

    client.force_login(StaffFactory())  # staff, but in no group: no permission on tickets
    assert client.get(SEARCH, {"q": "centralina"}).status_code == 403

    client.force_login(staff_with_role(OPERATORS, "marta"))
    assert len(found(search(client, "centralina"))) == 1


# The embedded SQLite default ------------------------------------------------------------------


def test_subject_vehicle_serial_and_customer_code_are_found_on_any_database(operator_client):
    customer = CustomerFactory(code="OFF-90817")
    wanted = ticket(
        customer=customer,
        unit=UnitFactory(customer=customer, serial_number="KT4455667"),
        subject="Centralina muta",
        vehicle_description="Alfa Romeo Giulia",
    )
    ticket(subject="Checksum")

    assert found(search(operator_client, "centralina")) == [wanted.number]
    assert found(search(operator_client, "Giulia centralina")) == [wanted.number]
    assert found(search(operator_client, "4455")) == [wanted.number]
    assert found(search(operator_client, "90817")) == [wanted.number]
    assert found(search(operator_client, "centralina inesistente")) == []


def test_sqlite_fallback_searches_substrings_and_escapes(operator_client, operator, monkeypatch):
    # The fallback is plain substring matching: on PostgreSQL too, when told to use it.
    monkeypatch.setattr(selectors, "full_text_search_available", lambda: False)
    worked = ticket(subject='Centralina <script>alert("s")</script>')
    tickets_services.ticket_reply_staff(ticket=worked, operator=operator, body="Cruscotto spento.")

    page = search(operator_client, "centr").content.decode()

    assert found_in(page) == [worked.number]  # a part of a word is enough
    assert "<mark>Centr</mark>alina &lt;script&gt;" in page
    assert "<script>alert" not in page
    assert "Simple search of this installation" in page
    # Messages are not searched by the fallback (documented in the README).
    assert found(search(operator_client, "cruscotto")) == []


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_the_rebuild_command_indexes_tickets_written_without_their_search_row(operator_client):
    wanted = ticket(subject="Centralina muta")
    TicketSearch.objects.all().delete()  # as tickets stored before migration 0014
    assert found(search(operator_client, "centralina")) == []

    out = io.StringIO()
    call_command("ticket_search_rebuild", "--batch-size", "1", stdout=out)

    assert "1 tickets indexed" in out.getvalue()
    assert found(search(operator_client, "centralina")) == [wanted.number]


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_past_the_window_only_the_most_recent_matches_are_ranked_and_the_page_says_so(
    operator_client, monkeypatch
):
    monkeypatch.setattr(selectors, "SEARCH_WINDOW", 3)
    best_but_oldest = ticket(days_ago=9, subject="Centralina centralina centralina")
    recent = [ticket(days_ago=n, description="Centralina muta.") for n in (2, 1, 0)][::-1]

    page = search(operator_client, "centralina").content.decode()

    assert found_in(page) == [t.number for t in recent]
    assert best_but_oldest.number not in found_in(page)
    assert "More than 3 tickets match" in page

    ticket(subject="Cruscotto spento")
    assert "More than" not in search(operator_client, "cruscotto").content.decode()


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_older_tickets_past_the_recent_ones_are_found_through_the_index(
    operator_client, monkeypatch
):
    monkeypatch.setattr(selectors, "SEARCH_RECENT", 2)  # only the two newest are read one by one
    oldest = ticket(days_ago=9, subject="Centralina muta")
    old = ticket(days_ago=8, description="Centralina muta.")
    ticket(days_ago=2, subject="Checksum")
    ticket(days_ago=1, subject="Cruscotto")

    assert found(search(operator_client, "centralina")) == [oldest.number, old.number]
    assert found(search(operator_client, "cruscotto")) == [Ticket.objects.latest("pk").number]


@pytest.mark.postgres
@pytest.mark.usefixtures("require_postgres")
def test_wildcards_typed_are_plain_characters_of_a_code(operator_client):
    ticket(unit=UnitFactory(serial_number="KSX0012345"))
    literal = ticket(unit=UnitFactory(serial_number="KS_0012345"))

    assert found(search(operator_client, "KS_001")) == [literal.number]
    assert found(search(operator_client, "KS%001")) == []
