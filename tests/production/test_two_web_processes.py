"""Two web processes share everything through PostgreSQL, Redis and the attachment storage.

Two gunicorns on two ports, on config.settings.production with the same environment (the same
secret key, database, Redis, and a private bucket of moto's S3 server for the attachments), as two
web machines behind a load balancer would be:
a file uploaded through one is downloaded through the other, byte for byte; a log-in made on one
is a log-in on the other; operators pressing take-next on both at once, many times over, are
handed different tickets. Three ways in: straight to each gunicorn, through the shipped nginx
with both as its upstream, and through a PgBouncer in transaction mode (with
DATABASE_TRANSACTION_POOLING) between both and PostgreSQL.
"""

import itertools
import re
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from core.roles import OPERATORS
from tests.conftest import require_service, ticket_post_data
from tests.core.factories import TermsVersionFactory, staff_with_role
from tests.customers.factories import PASSWORD, CustomerFactory, UnitFactory
from tests.production.pgbouncer import PgBouncer, pgbouncer_binary
from tests.production.stack import Gunicorn, PortalClient, production_env
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment, Ticket, TicketEvent

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

QUEUED = 24  # tickets waiting for an operator
TAKES = 32  # take-next presses, split across both processes: the last find the queue empty
CHANGE_PAGE = re.compile(r"/admin/tickets/ticket/(\d+)/change/$")


@pytest.fixture
def two_webs(live_database, machine_redis, s3_server, s3_bucket, tmp_path, run_process):
    """Start two gunicorns with one environment; `database_url` may point them at a pooler."""

    def start(*, database_url: str = live_database, **extra: str) -> list[Gunicorn]:
        env = production_env(
            database_url=database_url,
            redis_url=machine_redis,
            email_url="consolemail://",
            # Each its own folder, as on two machines: nothing of the attachments goes there.
            media_root=tmp_path / "local-media",
            # The calendar is tested elsewhere: keep the service open whatever the hour and day.
            HOLIDAYS_COUNTRY="",
            SERVICE_GATE_OUTSIDE_HOURS="false",
            # The attachments: one private bucket of moto's S3 server, shared by both.
            **s3_server.env(s3_bucket),
            **extra,
        )
        return [
            run_process(Gunicorn(env=env, log_path=tmp_path / f"gunicorn-{name}.log", workers=3))
            for name in ("a", "b")
        ]

    return start


@pytest.fixture
def pgbouncer(live_database, tmp_path, run_process):
    """This test's own PgBouncer in transaction mode, in front of the test database's server."""
    require_service(pgbouncer_binary() is not None, "pgbouncer (Debian's pgbouncer)")
    return run_process(PgBouncer(server_url=live_database, root=tmp_path / "pgbouncer"))


@pytest.fixture
def people():
    terms = TermsVersionFactory()
    unit = UnitFactory(customer=CustomerFactory(language="en"))
    operators = [staff_with_role(OPERATORS, name) for name in ("giulia", "marco")]
    return {"terms": terms, "unit": unit, "operators": operators}


def log_file() -> bytes:
    """A LOG file as a tool writes it: stored and served exactly as uploaded."""
    lines = [f"00:{n:02d}.{secrets.randbelow(1000):03d} ECU write block {n} ok" for n in range(60)]
    return ("\r\n".join(lines) + "\r\nERR 0x2A: write failed\r\n").encode()


def check_shared_files_and_sessions(one: str, other: str, people: dict) -> None:
    """Upload on `one`, download on `other`; log in on `one`, browse on `other`."""
    unit, terms = people["unit"], people["terms"]
    customer = PortalClient(one)
    answer = customer.log_in(unit.customer.code, PASSWORD)
    assert answer.status_code == 200
    assert "sessionid" in customer.session.cookies

    content = log_file()
    answer = customer.submit(
        "/tickets/new/",
        ticket_post_data(
            unit, terms, subject=f"Two webs {secrets.token_hex(3)}", confirm_new_problem="on"
        ),
        files={"log_files": ("flash.log", content, "text/plain")},
    )
    assert answer.status_code == 200, answer.text[answer.text.find("<main") :][:3000]
    ticket = Ticket.objects.filter(customer=unit.customer).latest("number")
    assert answer.url.endswith(f"/tickets/{ticket.number}/")
    attachment = Attachment.objects.get(ticket=ticket)
    # Stored in the bucket (this process's default storage too: the s3_bucket fixture).
    with attachment.file.open("rb") as stored:
        assert stored.read() == content

    # The session made on one process is honoured by the other: the same cookies, no log-in.
    page = customer.get(f"{other}/tickets/{ticket.number}/", allow_redirects=False)
    assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
    assert f"/files/{attachment.pk}/" in page.text
    download = customer.get(f"{other}/files/{attachment.pk}/", allow_redirects=False)
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in download.headers["Content-Disposition"]

    # Logged out on the other process: logged out on the first one too.
    token = customer.csrf_token(customer.get(f"{other}/tickets/new/"))
    customer.session.post(
        f"{other}/account/logout/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": other.replace("http:", "https:") + "/tickets/new/"},
        timeout=15,
    )
    page = customer.get(f"{one}/tickets/{ticket.number}/", allow_redirects=False)
    assert page.status_code == 302
    assert "/account/login/" in page.headers["Location"]


def check_take_next_hands_out_different_tickets(urls: list[str], people: dict) -> None:
    """Many operators' presses on take-next at once, across the processes: no ticket twice."""
    TicketFactory.create_batch(QUEUED, status=Ticket.Status.NEW, assigned_to=None)
    # With the ones the customer opened before.
    queued = list(Ticket.objects.filter(status=Ticket.Status.NEW, assigned_to=None))
    assert len(queued) < TAKES
    desks = []
    for operator, url in zip(people["operators"], itertools.cycle(urls), strict=False):
        desk = PortalClient(url)
        answer = desk.log_in(operator.username, PASSWORD, path="/admin/login/?next=/admin/")
        assert answer.status_code == 200
        assert "/admin/" in answer.url
        token = desk.csrf_token(desk.get("/admin/tickets/ticket/"))
        desks.append((desk.session.cookies.get_dict(), token))

    def press(n: int) -> str:
        # Each press from its own connection, to one process or the other, as browsers would.
        url = urls[n % len(urls)]
        cookies, token = desks[n % len(desks)]
        answer = requests.post(
            f"{url}/admin/tickets/ticket/take-next/",
            data={"csrfmiddlewaretoken": token},
            cookies=cookies,
            headers={
                "X-Forwarded-Proto": "https",
                "Referer": url.replace("http:", "https:") + "/admin/tickets/ticket/",
            },
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 302, (answer.status_code, answer.text[:500])
        return answer.headers["Location"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        locations = list(pool.map(press, range(TAKES)))

    taken = [int(m.group(1)) for loc in locations if (m := CHANGE_PAGE.search(loc))]
    assert len(taken) == len(set(taken)), f"a ticket was handed out twice: {sorted(taken)}"
    assert sorted(taken) == sorted(ticket.pk for ticket in queued)
    assert locations.count("/admin/tickets/ticket/") == TAKES - len(queued)
    assert not Ticket.objects.filter(status=Ticket.Status.NEW).exists()
    assignments = TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED, ticket__in=queued)
    assert assignments.count() == len(queued)


def test_two_web_processes_share_files_sessions_and_the_queue(two_webs, people, tmp_path):
    a, b = (web.url for web in two_webs())
    check_shared_files_and_sessions(a, b, people)
    check_shared_files_and_sessions(b, a, people)
    check_take_next_hands_out_different_tickets([a, b], people)
    # Nothing went to a local disk.
    assert not [path for path in (tmp_path / "local-media").rglob("*") if path.is_file()]


def test_nginx_in_front_of_two_web_processes_spreads_the_requests(two_webs, start_nginx, people):
    webs = two_webs(AXES_PROXY_COUNT="1")
    upstream = ",".join(web.url.removeprefix("http://") for web in webs)
    proxy = start_nginx(upstream)
    check_shared_files_and_sessions(proxy.url, proxy.url, people)
    check_take_next_hands_out_different_tickets([proxy.url], people)
    # Both processes answered through it.
    served_by = set(re.findall(r"127\.0\.0\.1:(\d+) ", proxy.access_log.read_text()))
    assert {str(web.port) for web in webs} <= served_by


def test_two_web_processes_through_pgbouncer_in_transaction_mode(
    two_webs, pgbouncer, live_database, people
):
    webs = two_webs(
        database_url=pgbouncer.url_for(live_database), DATABASE_TRANSACTION_POOLING="true"
    )
    a, b = (web.url for web in webs)
    check_shared_files_and_sessions(a, b, people)
    check_take_next_hands_out_different_tickets([a, b], people)
    # Every connection of both went through it, and none tripped over a pooled connection.
    assert "login attempt" in pgbouncer.log_path.read_text()
    assert "prepared statement" not in "".join(web.log_tail(200) for web in webs)
