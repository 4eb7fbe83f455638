"""Push ticket updates through a real Celery worker to a local SMTP server; time the e-mails.

    .venv/bin/python bench/bench_notifications.py [--updates 1000] [--concurrency 2]
        [--rate 0] [--redis redis://127.0.0.1:6379/13]

Needs PostgreSQL at postgres://postgres@127.0.0.1:5432 and Redis (the --redis database is emptied).
Creates portal_bench_notif (dropped first), migrates it, starts an aiosmtpd server in this
process and a `celery worker` (prefork, as deployed) against Redis, then commits the updates
through tickets.services as the portal and the admin do: per ticket a submission, a take, a
reply (which also changes the status: one e-mail), a status change and a close, each one e-mail
to the customer. The commit instant of every update is taken in transaction.on_commit (before the
hand-over to the broker); the receive instant is taken by the SMTP server when it accepts the
message; the two meet through the Message-ID, which carries the notification's id. Prints the
push rate, the delivery throughput and the p50/p95/max delay from commit to receipt, and checks
that every e-mail arrived exactly once. --rate paces the updates (per second; 0: as fast as
the database allows, a burst that builds a backlog).
"""

import argparse
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import SERVER, django_on_fresh_database, percentile  # noqa: E402
from tests.notifications.live import (  # noqa: E402
    SmtpSink,
    Worker,
    celery_publishing_to,
    redis_ping,
    wait_until,
    worker_env,
)

DB_NAME = "portal_bench_notif"
UPDATES_PER_TICKET = 5
MESSAGE_ID = re.compile(r"<notification\.(\d+)\.")


def fail(message: str) -> None:
    print(f"bench_notifications: {message}", file=sys.stderr)
    sys.exit(2)


def check_services(*, redis_url: str) -> None:
    try:
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        fail(f"PostgreSQL is not reachable at {SERVER} ({exc}).\nStart it, then run again.")
    if not redis_ping(redis_url):
        fail(f"Redis is not reachable at {redis_url}.\nStart it (or pass --redis), then run again.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1000, help="a multiple of 5")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes")
    parser.add_argument("--rate", type=float, default=0, help="updates per second; 0: a burst")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for mail")
    options = parser.parse_args()
    tickets_count = max(1, options.updates // UPDATES_PER_TICKET)

    check_services(redis_url=options.redis)
    database_url = django_on_fresh_database(DB_NAME)
    import redis
    from django.db import transaction
    from django.utils import timezone

    from core.models import TermsVersion
    from core.selectors import terms_current
    from customers.models import User
    from customers.services import customer_create, unit_register
    from notifications.models import Notification
    from products.models import Product
    from schedule.gate import ServiceState, service_status
    from tickets import services as tickets_services
    from tickets.models import Ticket, TicketEvent

    redis.Redis.from_url(options.redis).flushdb()
    # aiosmtpd logs every SMTP command at INFO: noise, and work for this process.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    # The world: customers with a unit each, the terms, an operator.
    terms = terms_current() or TermsVersion.objects.create(
        version="bench", effective_from=timezone.now() - timedelta(days=1), text_it="-"
    )
    product = Product.objects.filter(has_serial_number=True).order_by("position").first()
    operator = User.objects.create_user(
        username="bench-operator", email="operator@bench.example", is_staff=True
    )
    units = []
    for n in range(min(tickets_count, 50)):
        customer = customer_create(
            code=f"BENCH{n:03d}",
            company=f"Bench workshop {n}",
            email=f"bench{n:03d}@bench.example",
            language="en",
        )
        units.append(unit_register(customer=customer, product=product, serial_number=f"BN{n:05d}"))
    # Customers open tickets only while the service is open: outside hours, date the submissions
    # at the next opening (the gate is what decides; this benchmark measures the e-mails).
    status = service_status()
    opened_at = None if status.state == ServiceState.OPEN else status.next_opening
    if opened_at is not None and service_status(at=opened_at).state != ServiceState.OPEN:
        fail("the service calendar has no opening to date the submissions at.")

    # Commit instants, by event id: each update runs in an outer transaction whose first on-commit
    # callback stamps the time, before the notifications app hands the rows to Celery.
    committed: dict[int, float] = {}

    def timed(update: Callable[[int], object]) -> Callable[[int], None]:
        def run(i: int) -> None:
            last = TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            stamp: dict[str, float] = {}
            with transaction.atomic():
                transaction.on_commit(lambda: stamp.setdefault("at", time.time()))
                update(i)
            for pk in TicketEvent.objects.filter(pk__gt=last).values_list("pk", flat=True):
                committed[pk] = stamp["at"]

        return run

    tickets: list[Ticket] = []

    def submit(i: int) -> None:
        unit = units[i % len(units)]
        tickets.append(
            tickets_services.ticket_create(
                customer=unit.customer,
                product=product,
                unit=unit,
                kind=Ticket.Kind.PROBLEM,
                language="en",
                subject=f"Bench problem {i}",
                description="Writing stops at 87%.",
                terms_version=terms,
                vehicle_description="Fiat Punto 1.3 Multijet",
                error_message="ERR 0x42",
                confirmed_new_problem=True,
                at=opened_at,
            )
        )

    rounds = [
        ("submission", submit),
        ("take", lambda i: tickets_services.ticket_take(ticket=tickets[i], operator=operator)),
        (
            "reply",
            lambda i: tickets_services.ticket_reply_staff(
                ticket=tickets[i], operator=operator, body="Update the firmware, then retry."
            ),
        ),
        (
            "status",
            lambda i: tickets_services.ticket_status_change(
                ticket=tickets[i], operator=operator, status=Ticket.Status.WAITING_CUSTOMER
            ),
        ),
        (
            "close",
            lambda i: tickets_services.ticket_close(ticket=tickets[i], user=operator, body="Done."),
        ),
    ]

    logs = Path(tempfile.mkdtemp(prefix="bench-notif-"))
    with SmtpSink() as sink, celery_publishing_to(options.redis):
        worker = Worker(
            env=worker_env(
                database_url=database_url,
                broker_url=options.redis,
                smtp_url=sink.url,
                # As deployed: the sweeper is a safety net, not part of the normal path.
                NOTIFICATIONS_SWEEP_INTERVAL="15",
                NOTIFICATIONS_SWEEP_GRACE="60",
                NOTIFICATIONS_RETRY_BACKOFF="30",
                NOTIFICATIONS_RETRY_BACKOFF_MAX="900",
            ),
            log_path=logs / "worker.log",
            name=f"bench-notif-{os.getpid()}",
            concurrency=options.concurrency,
            beat=False,
        )
        worker.start()
        try:
            interval = 1 / options.rate if options.rate > 0 else 0
            pushed = 0
            started = time.time()
            for _name, update in rounds:
                for i in range(tickets_count):
                    if interval:
                        delay = started + pushed * interval - time.time()
                        if delay > 0:
                            time.sleep(delay)
                    timed(update)(i)
                    pushed += 1
            push_seconds = time.time() - started
            expected = Notification.objects.count()

            wait_until(
                lambda: (
                    sink.handler.count() >= expected
                    and not Notification.objects.filter(status=Notification.Status.PENDING).exists()
                ),
                timeout=options.timeout,
                what=f"{expected} e-mails",
                interval=0.1,
                detail=worker.log_tail,
            )
            time.sleep(1)  # anything sent twice would arrive now
        finally:
            worker.stop()

    received = sink.handler.snapshot()
    rows = dict(Notification.objects.values_list("pk", "event_id"))
    delays, unknown = [], 0
    for message in received:
        match = MESSAGE_ID.match(message.message_id)
        event_id = rows.get(int(match.group(1))) if match else None
        if event_id is None or event_id not in committed:
            unknown += 1
            continue
        delays.append(message.at - committed[event_id])
    duplicates = sink.handler.duplicates()
    not_sent = Notification.objects.exclude(status=Notification.Status.SENT).count()
    first_commit = min(committed.values())
    last_receipt = max(r.at for r in received)
    span = last_receipt - first_commit

    print(
        f"\n{pushed} updates on {tickets_count} tickets, {len(received)} e-mails received; "
        f"worker: prefork, concurrency {options.concurrency}; {os.cpu_count()} CPUs; "
        f"{'burst' if not interval else f'paced at {options.rate:g} updates/s'}\n"
    )
    print(f"{'updates committed':38} {push_seconds:8.2f} s  {pushed / push_seconds:8.1f} /s")
    print(
        f"{'first commit to last e-mail':38} {span:8.2f} s  {len(received) / span:8.1f} e-mails/s"
    )
    print(f"{'delay commit → receipt, p50':38} {statistics.median(delays) * 1000:8.1f} ms")
    print(f"{'delay commit → receipt, p95':38} {percentile(delays, 0.95) * 1000:8.1f} ms")
    print(f"{'delay commit → receipt, max':38} {max(delays) * 1000:8.1f} ms")
    print(f"{'sent twice / not sent / unmatched':38} {len(duplicates)} / {not_sent} / {unknown}")
    if duplicates or not_sent or unknown or len(received) != expected:
        fail(f"delivery was not exactly once (worker log: {logs / 'worker.log'}).")


if __name__ == "__main__":
    main()
