"""Redis goes away under load: the portal degrades instead of dying, and loses no e-mail.

Everything as shipped, on this test's own redis-server (the cache and the Celery broker both):
gunicorn on config.settings.production, a Celery worker and beat on the same settings (the sweep
at its defaults), an SMTP sink. Redis is killed (connections refused), or frozen (SIGSTOP:
connections accepted, nothing answered, as behind a broken network), while clients keep asking
for pages and a customer and an operator keep writing; every answer is counted (none may be a 5xx
or go unanswered) and /health/ says "degraded", which keeps the process in a load balancer's
rotation. Redis comes back (killed: empty; frozen: with its data); every e-mail of the outage
goes out, exactly once, and /health/ is "ok" again. A process whose database is cut off says
"down" (503).
"""

import contextlib
import os
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
from django.urls import reverse

from core.roles import OPERATORS
from notifications.models import Notification
from tests.conftest import ticket_post_data
from tests.core.factories import TermsVersionFactory, staff_with_role
from tests.customers.factories import PASSWORD, CustomerFactory, UnitFactory
from tests.notifications.live import Beat, Worker, free_port, wait_until
from tests.notifications.test_live import expected_ids
from tests.production.stack import Gunicorn, PortalClient, production_env
from tests.tickets.factories import TicketFactory
from tickets.models import RemoteAccessRequest, Ticket, TicketEvent

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OUTAGE = 10  # seconds Redis stays away, as in the measurement
TIMEOUT = 60
# The calendar is tested elsewhere: keep the service open whatever the day and hour.
ALWAYS_OPEN = {"HOLIDAYS_COUNTRY": "", "SERVICE_GATE_OUTSIDE_HOURS": "false"}


@pytest.fixture
def outage_stack(live_database, own_redis, smtp_sink, tmp_path, run_process):
    """gunicorn, a worker and beat on the production settings, all on this test's Redis."""
    env = production_env(
        database_url=live_database,
        redis_url=own_redis.url,
        email_url=smtp_sink.url,
        media_root=tmp_path / "private",
        LOG_LEVEL="INFO",
        **ALWAYS_OPEN,
    )
    web = run_process(Gunicorn(env=env, log_path=tmp_path / "gunicorn.log", workers=2))
    worker = run_process(
        Worker(env=env, log_path=tmp_path / "worker.log", name="outage", concurrency=2, beat=False)
    )
    beat = run_process(Beat(env=env, log_path=tmp_path / "beat.log"))
    return {"web": web, "worker": worker, "beat": beat, "env": env}


@pytest.fixture
def operator_ticket():
    """A ticket an operator has taken, with its customer's unit and the terms in force."""
    terms = TermsVersionFactory()
    unit = UnitFactory(customer=CustomerFactory(language="en"))
    operator = staff_with_role(OPERATORS, "giulia")
    # A ticket the operator has taken (and, below, asks the customer for a TeamViewer session on).
    ticket = TicketFactory(
        customer=unit.customer,
        unit=unit,
        status=Ticket.Status.TAKEN,
        assigned_to=operator,
        language="en",
    )
    return {"terms": terms, "unit": unit, "operator": operator, "ticket": ticket}


@dataclass
class Answers:
    """What the clients got, by path: status codes, and requests that got no answer at all."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    codes: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)

    slowest: float = 0.0

    def record(self, label: str, call) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = call()
        except requests.RequestException as exc:
            with self.lock:
                self.failures.append(f"{label}: {exc}")
            return None
        with self.lock:
            self.codes[(label, response.status_code)] += 1
            self.slowest = max(self.slowest, time.monotonic() - started)
        return response

    def total(self) -> int:
        with self.lock:
            return sum(self.codes.values()) + len(self.failures)

    def errors(self) -> dict:
        with self.lock:
            return {key: n for key, n in self.codes.items() if key[1] >= 500}


def load(url: str, paths: list[str], answers: Answers, stop: threading.Event, client=None):
    """Ask for the pages over and over until told to stop (a browser-like client per thread)."""
    client = client or PortalClient(url)
    while not stop.is_set():
        for path in paths:
            answers.record(f"GET {path}", lambda path=path: client.get(path))


def health(url: str) -> dict:
    return requests.get(f"{url}/health/", timeout=5).json()


def break_redis(server, fault: str) -> None:
    if fault == "killed":
        server.stop()  # connections refused at once
    else:
        os.kill(server.process.pid, signal.SIGSTOP)  # connections accepted, nothing answered


def mend_redis(server, fault: str) -> None:
    if fault == "killed":
        server.start()  # empty: whatever it held is lost
    else:
        os.kill(server.process.pid, signal.SIGCONT)  # with its data, and the commands it owes


@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_a_redis_outage_under_load_degrades_the_portal_and_loses_no_email(
    outage_stack, operator_ticket, own_redis, smtp_sink, capsys, fault
):
    url, ticket = outage_stack["web"].url, operator_ticket["ticket"]
    customer = operator_ticket["unit"].customer
    detail = f"/tickets/{ticket.number}/"
    admin_page = f"/admin/tickets/ticket/{ticket.pk}/change/"
    # Log in the customers and the operator, and let the e-mails of before the outage go out.
    browsers = [PortalClient(url) for _ in range(3)]
    for browser in browsers:
        assert browser.log_in(customer.code, PASSWORD).url.rstrip("/") == url
    desk = PortalClient(url)
    signed_in = desk.log_in(
        operator_ticket["operator"].username, PASSWORD, path="/admin/login/?next=/admin/"
    )
    assert signed_in.url == f"{url}/admin/"
    asked = desk.submit(reverse("tickets_admin:remote-access", args=[ticket.pk]), {})
    assert asked.status_code == 200
    assert RemoteAccessRequest.objects.filter(ticket=ticket).exists()
    wait_until(
        lambda: {r.message_id for r in smtp_sink.handler.snapshot()} >= expected_ids(),
        timeout=TIMEOUT,
        what="the e-mails sent before the outage",
    )
    before = smtp_sink.handler.count()
    assert health(url) == {"status": "ok"}

    # Redis goes away while two customers and an anonymous visitor keep asking for pages.
    answers, stop = Answers(), threading.Event()
    pages = ["/", "/tickets/", detail]
    threads = [
        threading.Thread(target=load, args=(url, pages, answers, stop, browsers[1])),
        threading.Thread(target=load, args=(url, pages, answers, stop, browsers[2])),
        threading.Thread(
            target=load, args=(url, ["/health/", "/admin/login/", "/"], answers, stop)
        ),
    ]
    break_redis(own_redis, fault)
    down_at = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        writes = Answers()
        browser = browsers[0]
        # A customer logs in anew, opens a ticket, replies, sends the TeamViewer details.
        fresh = PortalClient(url)
        logged_in = writes.record("log in", lambda: fresh.log_in(customer.code, PASSWORD))
        opened = writes.record(
            "open a ticket",
            lambda: browser.submit(
                "/tickets/new/",
                ticket_post_data(
                    operator_ticket["unit"],
                    operator_ticket["terms"],
                    subject="Opened without Redis",
                    confirm_new_problem="on",  # the unit has a ticket open already
                ),
            ),
        )
        replied = writes.record(
            "reply",
            lambda: browser.submit(f"{detail}reply/", {"body": "Still failing at 87%."}),
        )
        remote = writes.record(
            "TeamViewer details",
            lambda: browser.submit(
                f"{detail}remote-access/",
                {
                    "confirm_authorisation": "on",
                    "confirm_backup": "on",
                    "teamviewer_id": "123 456 789",
                    "password": "Outage-secret-7",
                },
            ),
        )
        # The operator answers in the admin.
        answered = writes.record(
            "operator reply",
            lambda: desk.submit(
                admin_page,
                {
                    "_ticket_action": "reply",
                    "reply-body": "Please update the firmware to 3.213.",
                    "reply-visibility": "public",
                    "reply-new_status": Ticket.Status.ANSWERED,
                },
            ),
        )
        during = health(url)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    outage = time.monotonic() - down_at

    # Every request of the outage was answered, none with a server error.
    assert answers.failures == []
    assert writes.failures == []
    assert answers.errors() == {}
    assert writes.errors() == {}
    assert during == {"status": "degraded", "checks": {"database": "ok", "cache": "unavailable"}}
    for response in (logged_in, opened, replied, remote, answered):
        assert response.status_code == 200, (response.url, response.text[:1000])
    assert "/account/login/" not in logged_in.url
    new_ticket = Ticket.objects.get(subject="Opened without Redis")
    assert opened.url.endswith(f"/tickets/{new_ticket.number}/")
    assert ticket.events.filter(kind=TicketEvent.Kind.MESSAGE, body="Still failing at 87%.")
    assert RemoteAccessRequest.objects.get(ticket=ticket).submitted_at is not None
    assert ticket.events.filter(body="Please update the firmware to 3.213.").exists()
    # Their e-mails wait in the outbox: the receipt, the operator's, the customer's.
    waiting = set(Notification.objects.filter(status=Notification.Status.PENDING))
    assert len(waiting) == 3
    assert smtp_sink.handler.count() == before

    # Redis comes back. Every e-mail goes out once; the health check is "ok" again.
    mend_redis(own_redis, fault)
    back_at, back_wall = time.monotonic(), time.time()

    def all_delivered() -> bool:
        outage_stack["worker"].supervise()  # a restart policy, as deployed
        if outage_stack["beat"].process.poll() is not None:
            outage_stack["beat"].stop()
            outage_stack["beat"].start()
        delivered = {r.message_id for r in smtp_sink.handler.snapshot()}
        return delivered >= expected_ids()

    wait_until(
        all_delivered,
        timeout=TIMEOUT + 60,
        what="the e-mails of the outage",
        detail=lambda: f"{outage_stack['worker'].log_tail()}\n{outage_stack['beat'].log_tail()}",
    )
    delivered_after = max(r.at for r in smtp_sink.handler.snapshot()) - back_wall
    wait_until(lambda: health(url) == {"status": "ok"}, timeout=10, what="health to be ok")
    healthy_after = time.monotonic() - back_at
    time.sleep(2)  # anything sent twice would arrive now
    received = [r.message_id for r in smtp_sink.handler.snapshot()]
    assert smtp_sink.handler.duplicates() == {}
    assert sorted(received) == sorted(expected_ids())
    assert not Notification.objects.exclude(status=Notification.Status.SENT).exists()

    by_code = Counter()
    for (_label, code), n in answers.codes.items():
        by_code[code] += n
    with capsys.disabled():
        print(
            f"\nRedis {fault} {outage:.1f} s under load: {answers.total()} page requests answered "
            f"({dict(sorted(by_code.items()))}), none failed; {writes.total()} writes answered "
            f"200 (log-in, new ticket, reply, TeamViewer details, operator reply); slowest "
            f"answer {answers.slowest:.2f} s."
            f"\nAfter Redis came back: the {len(waiting)} e-mails of the outage delivered within "
            f"{delivered_after:.1f} s, each once; /health/ ok again after {healthy_after:.1f} s."
        )


class TcpCut:
    """A TCP forwarder to PostgreSQL that the test can cut, as a network failure would."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        self.open = False
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self.sockets.clear()

    def restore(self) -> None:
        self.open = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_a_process_without_its_database_says_down_and_recovers(live_database, own_redis, tmp_path):
    from django.db import connection

    settings_dict = connection.settings_dict
    cut = TcpCut((settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432)))
    database_url = live_database.replace(f":{settings_dict.get('PORT') or 5432}/", f":{cut.port}/")
    env = production_env(
        database_url=database_url,
        redis_url=own_redis.url,
        email_url="consolemail://",
        media_root=tmp_path / "private",
        **ALWAYS_OPEN,
    )
    web = Gunicorn(env=env, log_path=tmp_path / "gunicorn.log", workers=1)
    try:
        web.start()
        assert health(web.url) == {"status": "ok"}

        cut.cut()
        response = requests.get(f"{web.url}/health/", timeout=10)
        assert response.status_code == 503
        assert response.json() == {
            "status": "down",
            "checks": {"database": "unavailable", "cache": "ok"},
        }

        cut.restore()
        wait_until(lambda: health(web.url) == {"status": "ok"}, timeout=10, what="ok again")
    finally:
        web.stop()
        cut.close()
