"""Service-target warnings on the production path: a real worker's beat finds a ticket about to
miss its target in PostgreSQL and the warning leaves through Redis and a real SMTP server."""

from datetime import time
from decimal import Decimal

import pytest

from schedule.models import ServiceHours
from schedule.services import calendar_cache_invalidate, service_hours_save
from tests.notifications.live import wait_until
from tests.notifications.test_live import submit
from tickets import services as tickets_services
from tickets.models import ServiceTarget, TicketEvent

pytestmark = [
    pytest.mark.live,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

TIMEOUT = 60


def test_the_beat_warns_the_operator_once_before_a_target_is_missed(
    world, machine_redis, publish_to, start_worker, smtp_sink
):
    publish_to(machine_redis)
    operator = world["operator"]
    # A transactional test's flush empties the service hours the data migration wrote: without
    # hours no service time passes and nothing falls due. Open every day, all day.
    ServiceHours.objects.all().delete()
    for weekday in range(7):
        service_hours_save(
            hours=ServiceHours(weekday=weekday, opens_at=time(0, 0), closes_at=time(23, 59))
        )
    calendar_cache_invalidate()
    # A quarter of a service hour: whatever the hour the test runs at, the target falls due
    # within the next hour of service time, which is when operators are warned.
    ServiceTarget.objects.create(
        product=world["unit"].product,
        first_response_hours=Decimal("0.25"),
        next_update_hours=Decimal("1"),
    )
    ticket = submit(world, language="en", subject="Checksum error after writing")
    tickets_services.ticket_take(ticket=ticket, operator=operator)

    worker = start_worker(
        machine_redis,
        name="targets",
        SERVICE_TARGET_CHECK_SECONDS="1",
        # Warnings go out while the service is open only: open it at this hour.
        DJANGO_DEBUG="true",
        DEMO_SERVICE_ALWAYS_OPEN="true",
    )

    def warned():
        return any(
            operator.email in m.recipients and "service target" in m.message["Subject"]
            for m in smtp_sink.handler.snapshot()
        )

    wait_until(
        warned,
        timeout=TIMEOUT,
        what="the operator warned of the target",
        detail=lambda: worker.log_tail(),
    )
    # Several beats later, still one warning: once per target.
    wait_until(
        lambda: worker.log_path.read_text().count("tickets.service_targets_check") >= 6,
        timeout=TIMEOUT,
        what="more runs of the beat task",
        detail=lambda: worker.log_tail(),
    )
    warnings = [m for m in smtp_sink.handler.snapshot() if operator.email in m.recipients]
    assert len(warnings) == 1
    assert f"#{ticket.number}" in warnings[0].message["Subject"]
    assert world["customer"].email not in {r for m in warnings for r in m.recipients}
    assert (
        TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.TARGET_WARNING).count() == 1
    )
