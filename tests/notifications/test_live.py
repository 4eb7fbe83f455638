"""Integration and fault tests: a real worker, Redis and SMTP server; every e-mail exactly once."""

import pytest

from notifications.models import Notification
from notifications.threading import mail_domain
from tests.conftest import ticket_submit
from tests.customers.factories import CustomerFactory, UnitFactory
from tests.notifications.live import wait_until
from tickets import services as tickets_services
from tickets.models import Ticket

pytestmark = [
    pytest.mark.live,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

TIMEOUT = 40


def expected_ids() -> set[str]:
    """The Message-ID every committed notification must arrive with."""
    return {
        f"<notification.{n.pk}.{n.ticket.number}@{mail_domain()}>"
        for n in Notification.objects.select_related("ticket").exclude(
            status=Notification.Status.FAILED
        )
    }


def settle(sink, *, workers=(), supervise=False):
    """Wait until nothing is pending and every expected message has arrived."""

    def done():
        if supervise:
            for worker in workers:
                worker.supervise()
        if Notification.objects.filter(status=Notification.Status.PENDING).exists():
            return False
        return {r.message_id for r in sink.handler.snapshot()} >= expected_ids()

    def detail():
        rows = list(Notification.objects.values_list("pk", "status", "attempts", "last_error"))
        logs = "\n".join(w.log_tail() for w in workers)
        return f"rows: {rows}\nreceived: {sink.handler.count()}\n{logs}"

    wait_until(done, timeout=TIMEOUT, what="every notification to be sent", detail=detail)


def assert_each_exactly_once(sink):
    received = [r.message_id for r in sink.handler.snapshot()]
    assert sink.handler.duplicates() == {}
    assert sorted(received) == sorted(expected_ids())
    assert not Notification.objects.exclude(
        status__in=[Notification.Status.SENT, Notification.Status.FAILED]
    ).exists()


def submit(world, **kwargs) -> Ticket:
    return ticket_submit(
        customer=kwargs.pop("customer", world["customer"]),
        unit=kwargs.pop("unit", world["unit"]),
        terms=world["terms"],
        **kwargs,
    )


def test_real_worker_sends_every_update_once(
    world, machine_redis, publish_to, start_worker, smtp_sink
):
    worker = start_worker(machine_redis, name="journey")
    publish_to(machine_redis)
    customer, operator = world["customer"], world["operator"]

    ticket = submit(world, language="en", subject="Writing stops at 87%")
    tickets_services.ticket_take(ticket=ticket, operator=operator)
    tickets_services.ticket_reply_staff(ticket=ticket, operator=operator, body="Update first.")
    tickets_services.ticket_reply_staff(
        ticket=ticket, operator=operator, body="Internal: check logs.", is_public=False
    )
    tickets_services.ticket_reply_customer(ticket=ticket, customer=customer, body="Done, fails.")
    tickets_services.ticket_close(ticket=ticket, user=operator, body="Solved.")

    settle(smtp_sink, workers=[worker])
    assert_each_exactly_once(smtp_sink)
    received = smtp_sink.handler.snapshot()
    by_recipient = sorted((r.recipients, r.subject) for r in received)
    n = ticket.number
    assert by_recipient == sorted(
        [
            ((customer.user.email,), f"Ticket #{n}: we have received your request"),
            ((customer.user.email,), f"Ticket #{n}: your request has been taken in charge"),
            ((customer.user.email,), f"Ticket #{n}: the support team has replied"),
            (("operator@example.com",), f"Ticket #{n}: the customer {customer.code} has replied"),
            ((customer.user.email,), f"Ticket #{n} has been closed"),
        ]
    )
    reply = next(r.message for r in received if "replied" in r.subject and "support" in r.subject)
    assert reply.get_content_type() == "multipart/alternative"
    assert "Update first." in reply.get_body(("plain",)).get_content()
    assert "“Answered”" in reply.get_body(("plain",)).get_content()
    assert f"/tickets/{n}/" in reply.get_body(("html",)).get_content()
    assert "Internal: check logs." not in "".join(r.message.as_string() for r in received)


def test_updates_while_redis_is_down_are_sent_once_it_is_back(
    world, own_redis, publish_to, start_worker, smtp_sink
):
    worker = start_worker(own_redis.url, name="outage")
    publish_to(own_redis.url)
    before = [submit(world) for _ in range(3)]
    wait_until(lambda: smtp_sink.handler.count() == 3, timeout=TIMEOUT, what="3 receipts")

    own_redis.stop()
    during = [submit(world) for _ in range(4)]
    for ticket in before:
        tickets_services.ticket_take(ticket=ticket, operator=world["operator"])
    # The updates committed; their e-mails wait in the outbox.
    assert Ticket.objects.filter(status=Ticket.Status.TAKEN).count() == 3
    assert len(during) == 4
    assert Notification.objects.filter(status=Notification.Status.PENDING).count() == 7

    own_redis.start()  # empty: whatever it held before is lost
    settle(smtp_sink, workers=[worker], supervise=True)
    assert_each_exactly_once(smtp_sink)
    assert len(smtp_sink.handler.snapshot()) == 10


def test_worker_killed_in_the_middle_of_a_batch(
    world, own_redis, publish_to, start_worker, smtp_sink
):
    smtp_sink.handler.hold_at = 4  # the 4th message is in flight when the worker dies
    # One pool process, so that the held message is the only one in flight when the kill comes.
    # (A message the server has acknowledged but whose row the dying worker had not yet marked
    # sent would go out twice: that window of a few milliseconds is SMTP's own, see RFC 1047.)
    first = start_worker(own_redis.url, name="doomed", concurrency=1)
    publish_to(own_redis.url)
    for _ in range(12):
        submit(world)
    assert smtp_sink.handler.holding.wait(TIMEOUT), first.log_tail()

    first.kill()
    # Release the held reply only once the server has seen its client go: a server that answers
    # 250 first has delivered, and nothing on the sending side can tell (RFC 1047).
    assert smtp_sink.handler.abandoned.wait(TIMEOUT), "the server never saw the worker die"
    smtp_sink.handler.release.set()
    delivered_before_restart = smtp_sink.handler.count()
    assert delivered_before_restart < 12
    second = start_worker(own_redis.url, name="heir")

    settle(smtp_sink, workers=[first, second])
    assert_each_exactly_once(smtp_sink)
    assert len(smtp_sink.handler.snapshot()) == 12


def test_smtp_refusing_for_a_while_then_permanently(
    world, own_redis, publish_to, start_worker, smtp_sink
):
    smtp_sink.handler.tempfail_remaining = 4
    smtp_sink.handler.refused_prefix = "bounce"
    worker = start_worker(own_redis.url, name="smtp")
    publish_to(own_redis.url)
    bouncing = CustomerFactory(user__email="bounce@example.com")
    bouncing_unit = UnitFactory(customer=bouncing)

    submit(world)
    submit(world)
    submit(world, customer=bouncing, unit=bouncing_unit)

    def finished():
        return not Notification.objects.filter(status=Notification.Status.PENDING).exists()

    wait_until(finished, timeout=TIMEOUT, what="retries to finish", detail=worker.log_tail)
    settle(smtp_sink, workers=[worker])
    assert_each_exactly_once(smtp_sink)
    assert smtp_sink.handler.tempfailed == 4
    sent = Notification.objects.filter(status=Notification.Status.SENT)
    assert sent.count() == 2
    assert sum(n.attempts for n in sent) == 2 + 4
    failed = Notification.objects.get(status=Notification.Status.FAILED)
    assert failed.recipient == "bounce@example.com"
    assert failed.attempts == 1
    assert "550" in failed.last_error
    assert all(r.recipients != ("bounce@example.com",) for r in smtp_sink.handler.snapshot())
