import pytest
from django.core.management import call_command

from tickets.models import Ticket, TicketCounter, TicketEvent

pytestmark = pytest.mark.django_db


def test_seed_volume_writes_a_consistent_data_set(require_postgres):
    call_command("seed_volume", tickets=500, tickets_per_customer=25, operators=3, verbosity=0)

    assert Ticket.objects.count() == 500
    numbers = list(Ticket.objects.order_by("number").values_list("number", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + 500))
    assert TicketCounter.objects.get(name="ticket").last_number == numbers[-1]
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert Ticket.Status.CLOSED in statuses
    assert len(statuses) >= 2
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.SUBMITTED).count() == 500
    # The sequences follow: an ordinary insert after the seed does not collide.
    assert (
        Ticket.objects.exclude(status=Ticket.Status.CLOSED).filter(closed_at__isnull=False).count()
        == 0
    )
    call_command("seed_volume", tickets=10, operators=1, verbosity=0)
    assert Ticket.objects.count() == 510
