"""Service targets in service hours: the clock of each ticket, the queue, the warnings, the
dashboard. The calendar is the default one (Mon-Fri 08:30-12:30, 14:00-18:00, Rome), with the
default targets of the migration (first response 4 h, next update 8 h)."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from schedule.models import Closure
from schedule.services import closure_save
from tests.conftest import ticket_submit
from tests.schedule.conftest import rome
from tickets import services
from tickets.models import ServiceTarget, Ticket, TicketEvent
from tickets.reports.selectors import dashboard_figures
from tickets.targets import service_targets_check

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
WED = (2025, 11, 26)  # an ordinary Wednesday


def submit(customer, unit, terms, at):
    ticket = ticket_submit(customer=customer, unit=unit, terms=terms, at=at)
    ticket.refresh_from_db()
    return ticket


def reload(ticket):
    ticket.refresh_from_db()
    return ticket


# The clock ----------------------------------------------------------------------------------------


def test_the_first_response_is_due_four_service_hours_after_receipt(customer, unit, terms):
    ticket = submit(customer, unit, terms, rome(*WED, 11, 0))
    # 11:00-12:30 and 14:00-16:30.
    assert ticket.due_target == Ticket.Target.FIRST_RESPONSE
    assert ticket.due_at == rome(*WED, 16, 30)


def test_a_product_s_own_target_wins_over_the_default(customer, unit, terms):
    ServiceTarget.objects.create(
        product=unit.product, first_response_hours=Decimal("1"), next_update_hours=Decimal("2")
    )
    ticket = submit(customer, unit, terms, rome(*WED, 11, 0))
    assert ticket.due_at == rome(*WED, 12, 0)


def test_an_answer_pauses_the_clock_and_the_customer_s_reply_starts_the_next_update(
    customer, unit, terms, operator
):
    ticket = submit(customer, unit, terms, rome(*WED, 11, 0))
    services.ticket_reply_staff(
        ticket=ticket, operator=operator, body="Try this.", at=rome(*WED, 15, 0)
    )
    ticket = reload(ticket)
    assert ticket.status == Ticket.Status.ANSWERED
    assert ticket.due_at is None
    assert ticket.target_missed_at is None

    services.ticket_reply_customer(
        ticket=ticket, customer=customer, body="Still failing.", at=rome(2025, 11, 27, 9, 0)
    )
    ticket = reload(ticket)
    assert ticket.due_target == Ticket.Target.NEXT_UPDATE
    # Thursday 09:00-12:30 and 14:00-18:00 (7.5 h), then Friday 08:30-09:00.
    assert ticket.due_at == rome(2025, 11, 28, 9, 0)


def test_an_answer_that_keeps_the_ticket_in_progress_starts_the_next_update(
    customer, unit, terms, operator
):
    ticket = submit(customer, unit, terms, rome(*WED, 9, 0))
    services.ticket_reply_staff(
        ticket=ticket,
        operator=operator,
        body="Looking into it.",
        new_status=Ticket.Status.TAKEN,
        at=rome(*WED, 10, 0),
    )
    ticket = reload(ticket)
    assert ticket.due_target == Ticket.Target.NEXT_UPDATE
    # 10:00-12:30, 14:00-18:00, then Thursday 08:30-10:00.
    assert ticket.due_at == rome(2025, 11, 27, 10, 0)
    # An internal note is no update: the clock goes on.
    services.ticket_reply_staff(
        ticket=ticket, operator=operator, body="Asked R&D.", is_public=False, at=rome(*WED, 11, 0)
    )
    assert reload(ticket).due_at == rome(2025, 11, 27, 10, 0)


def test_a_first_response_paused_before_any_answer_resumes_with_the_time_it_had_used(
    customer, unit, terms, operator
):
    ticket = submit(customer, unit, terms, rome(*WED, 9, 0))
    assert ticket.due_at == rome(*WED, 14, 30)
    services.ticket_status_change(
        ticket=ticket,
        operator=operator,
        status=Ticket.Status.WAITING_CUSTOMER,
        at=rome(*WED, 10, 0),
    )
    ticket = reload(ticket)
    assert ticket.due_at is None
    assert ticket.due_used == H
    services.ticket_reply_customer(
        ticket=ticket, customer=customer, body="Here are the logs.", at=rome(2025, 11, 27, 9, 0)
    )
    ticket = reload(ticket)
    assert ticket.due_target == Ticket.Target.FIRST_RESPONSE
    assert ticket.due_at == rome(2025, 11, 27, 12, 0)  # the three hours left


def test_a_late_answer_records_the_missed_target(customer, unit, terms, operator):
    ticket = submit(customer, unit, terms, rome(*WED, 9, 0))
    services.ticket_reply_staff(ticket=ticket, operator=operator, body="Sorry.", at=rome(*WED, 15))
    assert reload(ticket).target_missed_at == rome(*WED, 14, 30)


def test_closing_stops_the_clock(customer, unit, terms, operator):
    ticket = submit(customer, unit, terms, rome(*WED, 9, 0))
    services.ticket_close(ticket=ticket, user=operator, at=rome(*WED, 10, 0))
    ticket = reload(ticket)
    assert (ticket.due_at, ticket.due_target, ticket.target_missed_at) == (None, "", None)


# The beat task ------------------------------------------------------------------------------------


def test_a_new_closure_moves_the_due_instants_of_open_tickets(
    customer, unit, terms, django_capture_on_commit_callbacks
):
    ticket = submit(customer, unit, terms, rome(*WED, 11, 0))
    service_targets_check(at=rome(*WED, 11, 1))
    assert reload(ticket).due_at == rome(*WED, 16, 30)

    with django_capture_on_commit_callbacks(execute=True):
        closure_save(
            closure=Closure(
                first_day=date(*WED),
                last_day=date(*WED),
                title_it="Inventario",
                title_en="Stocktaking",
                title_fr="Inventaire",
            ),
            at=rome(2025, 11, 1, 9, 0),
        )
    result = service_targets_check(at=rome(*WED, 11, 2))
    assert result.recomputed == 1
    # Wednesday is closed now: the four hours run on Thursday morning.
    assert reload(ticket).due_at == rome(2025, 11, 27, 12, 30)
    # Nothing changed since: the next run recomputes nothing.
    assert service_targets_check(at=rome(*WED, 11, 3)).recomputed is None


def test_a_changed_target_moves_the_due_instants_too(customer, unit, terms):
    ticket = submit(customer, unit, terms, rome(*WED, 11, 0))
    service_targets_check(at=rome(*WED, 11, 1))
    ServiceTarget.objects.filter(product=None).update(first_response_hours=Decimal("2"))
    ServiceTarget.objects.create(
        product=unit.product, first_response_hours=Decimal("0.5"), next_update_hours=Decimal("1")
    )
    service_targets_check(at=rome(*WED, 11, 2))
    assert reload(ticket).due_at == rome(*WED, 11, 30)


def test_an_overdue_ticket_is_recorded_as_missed_by_the_beat(customer, unit, terms):
    ticket = submit(customer, unit, terms, rome(*WED, 9, 0))
    assert service_targets_check(at=rome(*WED, 14, 0)).missed == 0
    assert service_targets_check(at=rome(*WED, 14, 31)).missed == 1
    assert reload(ticket).target_missed_at == rome(*WED, 14, 30)


def test_the_operator_is_warned_once_before_the_target_is_missed(
    customer, unit, terms, operator, django_capture_on_commit_callbacks
):
    ticket = submit(customer, unit, terms, rome(*WED, 9, 0))  # due 14:30
    services.ticket_take(ticket=ticket, operator=operator, at=rome(*WED, 9, 5))
    mail.outbox.clear()
    # 13:00 is lunch: closed, so no warning, though 14:30 is less than an hour of service away.
    assert service_targets_check(at=rome(*WED, 13, 0)).warned == 0
    assert service_targets_check(at=rome(*WED, 11, 0)).warned == 0  # two hours left
    with django_capture_on_commit_callbacks(execute=True):
        assert service_targets_check(at=rome(*WED, 14, 0)).warned == 1
    assert service_targets_check(at=rome(*WED, 14, 10)).warned == 0  # once
    [message] = mail.outbox
    assert message.to == [operator.email]
    assert f"#{ticket.number}" in message.subject
    assert "30 min" in message.body
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.TARGET_WARNING)
    assert event.is_public is False  # the customer never hears of it
    assert customer.user.email not in {to for m in mail.outbox for to in m.to}


def test_an_unassigned_ticket_warns_the_managers(
    customer, unit, terms, manager, operator, django_capture_on_commit_callbacks
):
    submit(customer, unit, terms, rome(*WED, 9, 0))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        service_targets_check(at=rome(*WED, 14, 0))
    assert [m.to for m in mail.outbox] == [[manager.email]]


def test_no_warning_outside_service_hours_it_waits_for_the_opening(
    customer, unit, terms, operator, django_capture_on_commit_callbacks
):
    ticket = submit(customer, unit, terms, rome(*WED, 17, 30))  # due Thursday 12:00
    services.ticket_take(ticket=ticket, operator=operator, at=rome(*WED, 17, 31))
    assert service_targets_check(at=rome(*WED, 17, 32)).warned == 0
    # At night a manager tightens the target: the ticket falls due half an hour into Thursday.
    default = ServiceTarget.objects.get(product=None)
    default.first_response_hours = Decimal("1")
    default.save()
    assert service_targets_check(at=rome(*WED, 23, 0)).recomputed == 1
    assert reload(ticket).due_at == rome(2025, 11, 27, 9, 0)
    # Half an hour of service away, but nobody is woken up at night...
    assert service_targets_check(at=rome(*WED, 23, 1)).warned == 0
    # ...they hear of it at the opening.
    with django_capture_on_commit_callbacks(execute=True):
        assert service_targets_check(at=rome(2025, 11, 27, 8, 30)).warned == 1


# The queue and the ticket page --------------------------------------------------------------------


@pytest.fixture
def three_tickets(customer, unit, terms, operator):
    """Received on Wednesday at 09:00 (due 14:30), 11:00 (due 16:30), and one waiting for the
    customer."""
    early = submit(customer, unit, terms, rome(*WED, 9, 0))
    late = submit(customer, unit, terms, rome(*WED, 11, 0))
    paused = submit(customer, unit, terms, rome(*WED, 11, 30))
    services.ticket_status_change(
        ticket=paused,
        operator=operator,
        status=Ticket.Status.WAITING_CUSTOMER,
        at=rome(*WED, 11, 45),
    )
    return early, late, paused


def queue(client, **params):
    return client.get(reverse("admin:tickets_ticket_changelist"), params)


def test_the_queue_shows_where_each_ticket_stands_in_service_time(operator_client, three_tickets):
    with time_machine.travel(rome(*WED, 16, 0), tick=False):
        page = queue(operator_client).content.decode()
    assert "overdue by 1 h 30 min" in page  # 14:30 to 16:00
    assert "due in 0 h 30 min" in page  # 16:30, and due soon
    assert "ticket-due-soon" in page
    assert 'ticket-due-paused" title="">paused<' in page


def test_the_queue_filters_and_sorts_by_due_instant(operator_client, three_tickets):
    early, late, paused = three_tickets
    with time_machine.travel(rome(*WED, 16, 0), tick=False):
        overdue = queue(operator_client, due="overdue").context["cl"].result_list
        soon = queue(operator_client, due="soon").context["cl"].result_list
        waiting = queue(operator_client, due="paused").context["cl"].result_list
        on_time = queue(operator_client, due="on_time").context["cl"].result_list
        by_due = queue(operator_client, o="3").context["cl"].result_list
        by_due_last_first = queue(operator_client, o="-3").context["cl"].result_list
    assert [t.pk for t in overdue] == [early.pk]
    assert [t.pk for t in soon] == [late.pk]
    assert [t.pk for t in waiting] == [paused.pk]
    assert list(on_time) == []
    # The soonest due first; a paused ticket has no due instant and comes last.
    assert [t.pk for t in by_due] == [early.pk, late.pk, paused.pk]
    assert [t.pk for t in by_due_last_first] == [paused.pk, late.pk, early.pk]


def test_the_default_order_stays_the_time_of_receipt(operator_client, three_tickets):
    early, late, paused = three_tickets
    Ticket.objects.filter(pk=late.pk).update(due_at=rome(*WED, 10, 0))  # due before `early`
    with time_machine.travel(rome(*WED, 16, 0), tick=False):
        rows = queue(operator_client).context["cl"].result_list
    assert [t.pk for t in rows] == [early.pk, late.pk, paused.pk]


def test_the_ticket_page_shows_the_due_instant(operator_client, three_tickets):
    early, _late, _paused = three_tickets
    with time_machine.travel(rome(*WED, 14, 0), tick=False):
        page = operator_client.get(
            reverse("admin:tickets_ticket_change", args=[early.pk])
        ).content.decode()
    assert "due in 0 h 30 min" in page
    assert "First response due at" in page


# The targets in the admin, and the dashboard ------------------------------------------------------


def test_managers_set_a_product_s_targets_and_cannot_add_a_second_default(manager_client, unit):
    url = reverse("admin:tickets_servicetarget_add")
    response = manager_client.post(
        url, {"product": unit.product.pk, "first_response_hours": "2", "next_update_hours": "6"}
    )
    assert response.status_code == 302
    assert ServiceTarget.objects.get(product=unit.product).first_response == 2 * H
    response = manager_client.post(
        url, {"product": "", "first_response_hours": "1", "next_update_hours": "1"}
    )
    assert response.status_code == 200
    assert ServiceTarget.objects.filter(product=None).count() == 1
    response = manager_client.post(
        url, {"product": "", "first_response_hours": "0", "next_update_hours": "1"}
    )
    assert "first_response_hours" in response.context["adminform"].form.errors


def test_operators_read_the_targets_but_do_not_change_them(operator_client):
    assert operator_client.get(reverse("admin:tickets_servicetarget_changelist")).status_code == 200
    default = ServiceTarget.objects.get(product=None)
    response = operator_client.post(
        reverse("admin:tickets_servicetarget_change", args=[default.pk]),
        {"product": "", "first_response_hours": "99", "next_update_hours": "99"},
    )
    assert response.status_code == 403


def test_the_dashboard_shows_the_share_within_target_per_product_and_operator(
    customer, unit, terms, operator, manager_client
):
    kept = submit(customer, unit, terms, rome(*WED, 9, 0))
    missed = submit(customer, unit, terms, rome(*WED, 9, 30))
    services.ticket_reply_staff(ticket=kept, operator=operator, body="Done.", at=rome(*WED, 10))
    services.ticket_reply_staff(ticket=missed, operator=operator, body="Late.", at=rome(*WED, 16))
    figures = dashboard_figures(at=rome(*WED, 17, 0))
    [product_row] = figures.targets_products
    assert (product_row.total, product_row.within, product_row.share) == (2, 1, 50.0)
    [operator_row] = figures.targets_operators
    assert (operator_row.total, operator_row.within) == (2, 1)
    with time_machine.travel(rome(*WED, 17, 0), tick=False):
        page = manager_client.get(reverse("tickets_admin:dashboard")).content.decode()
    assert "Service targets kept" in page
    assert "within their service targets, per product" in page


def test_the_command_does_what_the_beat_does(customer, unit, terms):
    ticket = submit(customer, unit, terms, rome(*WED, 9, 0))
    out = io.StringIO()
    with time_machine.travel(rome(*WED, 15, 0), tick=False):
        call_command("service_targets_check", stdout=out)
    assert "targets missed: 1" in out.getvalue()
    assert reload(ticket).target_missed_at == rome(*WED, 14, 30)
