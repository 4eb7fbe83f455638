"""Kill the worker that is sending an e-mail, again and again; time until it goes out again.

    .venv/bin/python bench/bench_recovery.py [--rounds 10]

Needs PostgreSQL at postgres://postgres@127.0.0.1:5432 and `redis-server` on the PATH (it starts
its own on a free port). Creates portal_bench_recovery (dropped first) and migrates it; starts an
aiosmtpd server in this process, `celery beat` in a process of its own and one `celery worker`,
both on config.settings.production with the sweep settings at their defaults, as shipped. Each
round an operator answers a ticket (one e-mail to the customer); the SMTP server holds that
message; the worker is SIGKILLed in the middle of it (at a random point of beat's period) and a
new one started, as a restart policy would. Prints p50/p95/max seconds from the kill to the
message's arrival, and checks that every e-mail arrived exactly once.
"""

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_workshop, django_on_fresh_database, percentile  # noqa: E402
from tests.notifications.live import (  # noqa: E402
    Beat,
    RedisServer,
    SmtpSink,
    Worker,
    celery_publishing_to,
    wait_until,
)

DB_NAME = "portal_bench_recovery"


def fail(message: str) -> None:
    print(f"bench_recovery: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="workers killed mid-message")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait per round")
    options = parser.parse_args()

    database_url = django_on_fresh_database(DB_NAME)

    from notifications.models import Notification
    from notifications.threading import mail_domain
    from schedule.gate import ServiceState, service_status
    from tests.production.stack import production_env
    from tickets import services as tickets_services
    from tickets.models import Ticket

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    customer, unit, terms, operator = bench_workshop(code="BENCHREC", serial_number="BR00001")
    product = unit.product
    # Customers write only while the service is open: date the submission at the next opening.
    status = service_status()
    opened_at = None if status.state == ServiceState.OPEN else status.next_opening

    redis_server = RedisServer()
    redis_server.start()
    logs = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    delays: list[float] = []
    try:
        with SmtpSink() as sink, celery_publishing_to(redis_server.url):
            shipped = production_env(
                database_url=database_url,
                redis_url=redis_server.url,
                email_url=sink.url,
                media_root=logs / "private",
                LOG_LEVEL="INFO",
            )
            beat = Beat(env=shipped, log_path=logs / "beat.log").start()
            workers: list[Worker] = []

            def start_worker() -> Worker:
                worker = Worker(
                    env=shipped,
                    log_path=logs / f"worker-{len(workers)}.log",
                    name=f"bench-recovery-{len(workers)}-{os.getpid()}",
                    concurrency=1,
                    beat=False,
                )
                workers.append(worker)
                return worker.start()

            try:
                worker = start_worker()
                ticket = tickets_services.ticket_create(
                    customer=customer,
                    product=product,
                    unit=unit,
                    kind=Ticket.Kind.PROBLEM,
                    language="en",
                    subject="Writing stops at 87%",
                    description="Every time.",
                    vehicle_description="Fiat Punto 1.3 Multijet",
                    error_message="ERR 0x42",
                    terms_version=terms,
                    confirmed_new_problem=True,
                    at=opened_at,
                )
                tickets_services.ticket_take(ticket=ticket, operator=operator)
                wait_until(lambda: sink.handler.count() == 2, timeout=60, what="two e-mails")
                for round_number in range(1, options.rounds + 1):
                    # Kill at any point of beat's period, not always just after a sweep.
                    time.sleep(random.uniform(0, 15))
                    sink.handler.hold_next()
                    tickets_services.ticket_reply_staff(
                        ticket=ticket, operator=operator, body=f"Answer {round_number}."
                    )
                    notification = Notification.objects.latest("pk")
                    message_id = f"<notification.{notification.pk}.{ticket.number}@{mail_domain()}>"
                    if not sink.handler.holding.wait(60):
                        fail(f"the worker never sent (log: {worker.log_path}).")
                    worker.kill()
                    killed_at = time.time()
                    if not sink.handler.abandoned.wait(60):
                        fail("the SMTP server never saw the worker die.")
                    sink.handler.release.set()
                    worker = start_worker()

                    def arrived(message_id=message_id) -> bool:
                        return any(r.message_id == message_id for r in sink.handler.snapshot())

                    wait_until(
                        arrived,
                        timeout=options.timeout,
                        what=f"round {round_number}'s message",
                        detail=worker.log_tail,
                    )
                    at = next(r.at for r in sink.handler.snapshot() if r.message_id == message_id)
                    delays.append(at - killed_at)
                    print(f"round {round_number:3d}: delivered {delays[-1]:6.1f} s after the kill")
                time.sleep(2)  # anything sent twice would arrive now
            finally:
                for process in [*workers, beat]:
                    process.stop()
            received = sink.handler.snapshot()
            duplicates = sink.handler.duplicates()
    finally:
        redis_server.stop()

    not_sent = Notification.objects.exclude(status=Notification.Status.SENT).count()
    print(
        f"\n{len(delays)} workers killed while sending; shipped sweep settings; "
        f"{os.cpu_count()} CPUs\n"
    )
    print(f"{'kill → delivered again, p50':34} {statistics.median(delays):7.1f} s")
    print(f"{'kill → delivered again, p95':34} {percentile(delays, 0.95):7.1f} s")
    print(f"{'kill → delivered again, max':34} {max(delays):7.1f} s")
    print(
        f"{'e-mails / sent twice / not sent':34} {len(received)} / {len(duplicates)} / {not_sent}"
    )
    if duplicates or not_sent or len(received) != options.rounds + 2:
        fail(f"delivery was not exactly once (logs: {logs}).")


if __name__ == "__main__":
    main()
