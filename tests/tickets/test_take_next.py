import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from core.roles import OPERATORS
from tests.core.factories import staff_with_role
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_take_next

TAKE_NEXT = reverse("admin:tickets_ticket_take_next")


@pytest.mark.django_db
def test_take_next_button_gives_the_oldest_unassigned_ticket_and_opens_it(client):
    operator = staff_with_role(OPERATORS, "luca")
    client.force_login(operator)
    now = timezone.now()
    TicketFactory(received_at=now - timedelta(hours=1))
    oldest = TicketFactory(received_at=now - timedelta(hours=5))
    TicketFactory(
        received_at=now - timedelta(hours=9),
        status=Ticket.Status.TAKEN,
        assigned_to=staff_with_role(OPERATORS, "anna"),
    )

    response = client.post(TAKE_NEXT)

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tickets_ticket_change", args=[oldest.pk])
    oldest.refresh_from_db()
    assert oldest.assigned_to == operator
    assert oldest.status == Ticket.Status.TAKEN
    assert oldest.events.filter(kind=TicketEvent.Kind.ASSIGNED, author=operator).exists()


@pytest.mark.django_db
def test_take_next_on_an_empty_queue_says_so(client):
    client.force_login(staff_with_role(OPERATORS, "luca"))

    response = client.post(TAKE_NEXT, follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:tickets_ticket_changelist")
    assert "The queue is empty" in response.content.decode()


@pytest.mark.django_db
def test_take_next_is_a_post(client):
    client.force_login(staff_with_role(OPERATORS, "luca"))
    assert client.get(TAKE_NEXT).status_code == 405


@pytest.mark.django_db
def test_taking_a_ticket_tells_the_customer(client, django_capture_on_commit_callbacks):
    client.force_login(staff_with_role(OPERATORS, "luca"))
    ticket = TicketFactory(language="en")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(TAKE_NEXT)

    sent = [m for m in mail.outbox if f"#{ticket.number}" in m.subject]
    assert [m.to for m in sent] == [[ticket.customer.user.email]]
    assert "taken in charge" in sent[0].subject


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_takers_never_get_the_same_ticket(require_postgres):
    tickets = 20
    takers = 8
    start = timezone.now() - timedelta(days=1)
    for minute in range(tickets):
        TicketFactory(received_at=start + timedelta(minutes=minute))
    operators = [staff_with_role(OPERATORS, f"taker{i}") for i in range(takers)]
    barrier = threading.Barrier(takers)
    taken: dict[int, list[int]] = {op.pk: [] for op in operators}
    firsts: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def work(operator):
        try:
            barrier.wait(timeout=30)
            first = ticket_take_next(operator=operator)
            firsts[operator.pk] = first.pk if first else None
            if first is not None:
                taken[operator.pk].append(first.pk)
            while (ticket := ticket_take_next(operator=operator)) is not None:
                taken[operator.pk].append(ticket.pk)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(op,)) for op in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    all_taken = [pk for pks in taken.values() for pk in pks]
    assert len(all_taken) == tickets
    assert len(set(all_taken)) == tickets, "a ticket was taken twice"
    # Pressed at the same moment, every taker got a ticket, and each a different one.
    assert None not in firsts.values()
    assert len(set(firsts.values())) == takers
    assert Ticket.objects.filter(status=Ticket.Status.NEW).count() == 0
    for operator in operators:
        assert set(Ticket.objects.filter(assigned_to=operator).values_list("pk", flat=True)) == set(
            taken[operator.pk]
        )
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED).count() == tickets
