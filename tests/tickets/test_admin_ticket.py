from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from schedule import gate
from tests.conftest import make_image
from tests.customers.factories import MemberFactory
from tests.schedule.factories import ClosureFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.services import ticket_reply_customer, ticket_reply_staff

pytestmark = pytest.mark.django_db

ROME = ZoneInfo("Europe/Rome")


def page_url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def act(client, ticket, action, **fields):
    data = {"_ticket_action": action, **{f"{action}-{k}": v for k, v in fields.items()}}
    return client.post(page_url(ticket), data)


def test_ticket_page_shows_the_whole_timeline_with_files(operator_client, operator, ticket):
    ticket_reply_staff(ticket=ticket, operator=operator, body="Try another cable.")
    ticket_reply_staff(
        ticket=ticket, operator=operator, body="Seen before: KB 12.", is_public=False
    )
    event = ticket.events.get(kind=TicketEvent.Kind.SUBMITTED)
    attachment = Attachment.objects.create(
        ticket=ticket,
        event=event,
        uploaded_by=ticket.customer.user,
        kind=Attachment.Kind.LOG,
        file="attachments/x.log",
        original_name="tool.log",
        content_type="text/plain",
        size=12,
    )

    response = operator_client.get(page_url(ticket))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Ticket #{ticket.number}" in page
    assert "Try another cable." in page
    assert "Seen before: KB 12." in page
    assert "internal, not seen by the customer" in page
    assert reverse("tickets:attachment", args=[attachment.pk]) in page
    assert ticket.description in page
    # The customer's text is shown, never as an editable field.
    assert 'name="description"' not in page
    assert 'name="subject"' not in page


def test_operator_replies_publicly_with_a_file(operator_client, operator, ticket):
    response = operator_client.post(
        page_url(ticket),
        {
            "_ticket_action": "reply",
            "reply-body": "Please update to 3.213.",
            "reply-visibility": "public",
            "reply-new_status": Ticket.Status.WAITING_CUSTOMER,
            "reply-files": [make_image("fix.png")],
        },
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING_CUSTOMER
    assert ticket.assigned_to == operator
    assert ticket.first_response_at is not None
    message = ticket.events.get(kind=TicketEvent.Kind.MESSAGE)
    assert message.is_public
    assert message.attachments.get().original_name == "fix.png"


def test_operator_adds_an_internal_note_that_leaves_the_status(operator_client, ticket):
    response = act(operator_client, ticket, "reply", body="Escalate?", visibility="note")

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW
    note = ticket.events.get(kind=TicketEvent.Kind.NOTE)
    assert not note.is_public
    assert ticket.first_response_at is None


def test_internal_notes_carry_no_files(operator_client, ticket):
    response = operator_client.post(
        page_url(ticket),
        {
            "_ticket_action": "reply",
            "reply-body": "Private",
            "reply-visibility": "note",
            "reply-files": [make_image()],
        },
    )
    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_an_empty_reply_shows_the_page_again_with_the_error(operator_client, ticket):
    response = act(operator_client, ticket, "reply", body="  ", visibility="public")

    assert response.status_code == 400
    assert "Write a message or attach a file." in response.content.decode()
    assert not ticket.events.filter(kind=TicketEvent.Kind.MESSAGE).exists()


def test_operator_reply_goes_through_while_the_service_is_closed(operator_client, operator):
    # Tuesday 3 November 2026 at 10:00 is inside service hours: only the closure closes it.
    moment = datetime(2026, 11, 3, 10, 0, tzinfo=ROME)
    assert gate.service_status(at=moment).state == gate.ServiceState.OPEN
    ClosureFactory(title_en="Stocktaking", first_day=date(2026, 11, 2), last_day=date(2026, 11, 6))
    ticket = TicketFactory(received_at=moment - timedelta(days=1), language="en")

    with time_machine.travel(moment, tick=False):
        with pytest.raises(gate.ServiceClosedError) as refused:
            ticket_reply_customer(ticket=ticket, customer=ticket.customer, body="Still broken.")
        response = act(
            operator_client, ticket, "reply", body="Answer during the closure.", visibility="public"
        )

    assert refused.value.status.state == gate.ServiceState.CLOSURE
    assert "Stocktaking" in refused.value.status.reason
    assert response.status_code == 302
    messages = ticket.events.filter(kind=TicketEvent.Kind.MESSAGE)
    assert list(messages.values_list("body", "author")) == [
        ("Answer during the closure.", operator.pk)
    ]


def _customer_is_refused(ticket) -> bool:
    try:
        ticket_reply_customer(ticket=ticket, customer=ticket.customer, body="Still broken.")
    except gate.ServiceClosedError:
        return True
    return False


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(datetime(2026, 3, 17, 18, 5, tzinfo=ROME), id="Tuesday at 18:05"),
        pytest.param(datetime(2026, 8, 12, 10, 0, tzinfo=ROME), id="during the summer closure"),
    ],
)
def test_the_calendar_binds_the_customer_but_not_the_operator(operator_client, moment):
    cache.clear()
    ClosureFactory(first_day=date(2026, 8, 10), last_day=date(2026, 8, 21))
    ticket = TicketFactory(received_at=moment - timedelta(days=1), language="en")

    with time_machine.travel(moment, tick=False):
        assert _customer_is_refused(ticket)
        response = act(
            operator_client, ticket, "reply", body="Answer after hours.", visibility="public"
        )
        closing = act(operator_client, ticket, "close", body="Done.")

    assert response.status_code == 302
    assert closing.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.events.filter(kind=TicketEvent.Kind.MESSAGE, body="Answer after hours.").exists()
    cache.clear()


def test_operator_changes_the_status(operator_client, operator, ticket):
    response = act(operator_client, ticket, "status", status=Ticket.Status.WAITING_CUSTOMER)

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING_CUSTOMER
    assert ticket.assigned_to == operator
    assert ticket.events.filter(kind=TicketEvent.Kind.STATUS).exists()


def test_operator_takes_the_ticket_from_its_page(operator_client, operator, ticket):
    response = act(operator_client, ticket, "take")

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assigned_to == operator
    assert ticket.status == Ticket.Status.TAKEN
    assert ticket.events.filter(kind=TicketEvent.Kind.ASSIGNED, author=operator).exists()


def test_operator_marks_a_duplicate_and_both_pages_link(
    operator_client, ticket, django_capture_on_commit_callbacks
):
    original = TicketFactory(customer=ticket.customer)

    with django_capture_on_commit_callbacks(execute=True):
        response = act(operator_client, ticket, "duplicate", original=f"#{original.number}")

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.duplicate_of == original
    assert ticket.events.filter(kind=TicketEvent.Kind.DUPLICATE).exists()
    assert page_url(original) in operator_client.get(page_url(ticket)).content.decode()
    assert page_url(ticket) in operator_client.get(page_url(original)).content.decode()
    # The customer is told, with the surviving ticket's number.
    (message,) = [m for m in mail.outbox if f"#{ticket.number}" in m.subject]
    assert message.to == [ticket.customer.user.email]
    assert f"#{original.number}" in message.body


@pytest.mark.parametrize("original", ["999999", "abc", ""])
def test_duplicate_of_an_unknown_ticket_is_refused(operator_client, ticket, original):
    response = act(operator_client, ticket, "duplicate", original=original)

    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.is_open


def test_duplicate_of_another_customers_ticket_is_refused(operator_client, ticket):
    other = TicketFactory()

    response = act(operator_client, ticket, "duplicate", original=str(other.number))

    assert response.status_code == 400
    assert "same customer" in response.content.decode()


def test_operator_closes_the_ticket_and_the_page_stops_offering_actions(
    operator_client, operator, ticket
):
    response = act(operator_client, ticket, "close", body="Solved by the update.")

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    closing = ticket.events.get(kind=TicketEvent.Kind.CLOSED)
    assert closing.author == operator
    assert closing.body == "Solved by the update."
    page = operator_client.get(page_url(ticket)).content.decode()
    assert "This ticket is closed" in page
    assert 'value="reply"' not in page


def test_the_admin_cannot_add_rewrite_or_delete_tickets(operator_client, ticket):
    assert operator_client.get(reverse("admin:tickets_ticket_add")).status_code == 403
    delete = reverse("admin:tickets_ticket_delete", args=[ticket.pk])
    assert operator_client.post(delete, {"post": "yes"}).status_code == 403
    response = operator_client.post(page_url(ticket), {"subject": "Rewritten"})
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.subject != "Rewritten"


def test_unknown_ticket_page_is_not_found_on_post(operator_client):
    url = reverse("admin:tickets_ticket_change", args=[987654])
    assert operator_client.post(url, {"_ticket_action": "take"}).status_code == 404


def test_the_page_names_the_member_who_opened_the_ticket(operator_client):
    member = MemberFactory(user__first_name="Luigi", user__last_name="Verdi")
    by_member = TicketFactory(customer=member.customer, opened_by=member.user)
    by_owner = TicketFactory(customer=member.customer)

    shown = operator_client.get(page_url(by_member)).content.decode()
    not_shown = operator_client.get(page_url(by_owner)).content.decode()

    assert f"opened by Luigi Verdi ({member.user.email})" in shown
    assert "opened by" not in not_shown
    assert member.customer.code in not_shown
