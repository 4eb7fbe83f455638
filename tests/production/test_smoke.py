"""The production path end to end, as it is shipped: every process real, nothing eager.

gunicorn on config.settings.production behind nginx, the machine's PostgreSQL and Redis, a Celery
worker and a separate beat, an SMTP sink. A customer opens a ticket with a file, an operator
answers in the admin, the customer receives both e-mails; then the worker is killed while it is
sending, an update lands while no worker runs, a new worker starts, and every e-mail arrives
exactly once.
"""

from pathlib import Path

import pytest

from core.roles import OPERATORS
from notifications.models import Notification
from notifications.threading import mail_domain
from tests.conftest import make_image, ticket_post_data
from tests.core.factories import TermsVersionFactory, staff_with_role
from tests.customers.factories import PASSWORD, CustomerFactory, UnitFactory
from tests.notifications.live import Beat, Worker, wait_until
from tests.production.stack import PortalClient
from tickets.models import Attachment, Ticket

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60


@pytest.fixture
def shipped_stack(start_gunicorn, start_nginx, smtp_sink, tmp_path, run_process):
    """The whole production stack on this test's database; stopped whatever happens."""
    web = start_gunicorn(
        email_url=smtp_sink.url,
        # gunicorn sees nginx, nginx sees the client.
        AXES_PROXY_COUNT="1",
        # The calendar is tested elsewhere: keep the service open whatever the hour and day.
        HOLIDAYS_COUNTRY="",
        SERVICE_GATE_OUTSIDE_HOURS="false",
        # Recover a killed worker's message quickly; the defaults have their own test.
        NOTIFICATIONS_SWEEP_INTERVAL="1",
        NOTIFICATIONS_SWEEP_GRACE="3",
    )
    proxy = start_nginx(web.url.removeprefix("http://"))
    worker = run_process(
        Worker(
            env=web.env, log_path=tmp_path / "worker.log", name="smoke", concurrency=1, beat=False
        )
    )
    run_process(Beat(env=web.env, log_path=tmp_path / "beat.log"))
    return {"url": proxy.url, "worker": worker, "sink": smtp_sink, "media": web.env}


def expected_ids(ticket) -> set[str]:
    """The Message-IDs of every e-mail the ticket's updates committed to the outbox."""
    return {
        f"<notification.{pk}.{ticket.number}@{mail_domain()}>"
        for pk in Notification.objects.filter(ticket=ticket).values_list("pk", flat=True)
    }


def delivered(sink, ticket) -> set[str]:
    return {r.message_id for r in sink.handler.snapshot()} & expected_ids(ticket)


def messages_to(sink, address: str):
    return [r for r in sink.handler.snapshot() if address in r.recipients]


def test_customer_and_operator_on_the_shipped_stack_lose_and_repeat_no_email(shipped_stack):
    sink, url = shipped_stack["sink"], shipped_stack["url"]
    terms = TermsVersionFactory()
    unit = UnitFactory(customer=CustomerFactory(language="en"))
    customer = unit.customer
    operator = staff_with_role(OPERATORS, "giulia")

    # The customer logs in and opens a ticket with a screenshot.
    browser = PortalClient(url)
    answer = browser.log_in(customer.code, PASSWORD)
    assert answer.status_code == 200
    assert answer.url.rstrip("/") == url
    data = ticket_post_data(unit, terms)
    screenshot = make_image("screen.png")
    answer = browser.submit(
        "/tickets/new/",
        data,
        files={"screenshots": ("screen.png", screenshot.read(), "image/png")},
    )
    ticket = Ticket.objects.get()
    assert answer.status_code == 200
    assert answer.url.endswith(f"/tickets/{ticket.number}/")
    assert f"#{ticket.number}" in answer.text
    stored = Attachment.objects.get(ticket=ticket)
    assert (Path(shipped_stack["media"]["PRIVATE_MEDIA_ROOT"]) / stored.file.name).is_file()

    # An operator answers it in the admin.
    desk = PortalClient(url)
    answer = desk.log_in(operator.username, PASSWORD, path="/admin/login/?next=/admin/")
    assert answer.status_code == 200
    assert "/admin/" in answer.url
    answer = desk.submit(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {
            "_ticket_action": "reply",
            "reply-body": "Please update the firmware to 3.213.",
            "reply-visibility": "public",
            "reply-new_status": Ticket.Status.WAITING_CUSTOMER,
        },
    )
    assert answer.status_code == 200, answer.text[:2000]

    # The customer receives both e-mails: the receipt and the answer.
    email = customer.user.email
    wait_until(
        lambda: delivered(sink, ticket) >= expected_ids(ticket),
        timeout=TIMEOUT,
        what="the receipt and the answer",
        detail=shipped_stack["worker"].log_tail,
    )
    bodies = [r.message.get_body(("plain",)).get_content() for r in messages_to(sink, email)]
    assert all(f"#{ticket.number}" in r.subject for r in messages_to(sink, email))
    assert any("we have received your request" in r.subject for r in messages_to(sink, email))
    assert any("3.213" in body for body in bodies)
    first_round = len(expected_ids(ticket))

    # The worker dies while the mail server holds its next message; one more answer lands while
    # no worker runs; a new worker starts. Nothing is lost, nothing arrives twice.
    sink.handler.hold_at = sink.handler.data_count + 1
    desk.submit(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {"_ticket_action": "reply", "reply-body": "Any news?", "reply-visibility": "public"},
    )
    wait_until(sink.handler.holding.is_set, timeout=TIMEOUT, what="the sink to hold a message")
    shipped_stack["worker"].kill()
    wait_until(sink.handler.abandoned.is_set, timeout=TIMEOUT, what="the server to see it die")
    sink.handler.release.set()
    desk.submit(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {"_ticket_action": "reply", "reply-body": "Closing soon.", "reply-visibility": "public"},
    )
    shipped_stack["worker"].start()

    wait_until(
        lambda: (
            len(expected_ids(ticket)) == first_round + 2
            and delivered(sink, ticket) >= expected_ids(ticket)
        ),
        timeout=TIMEOUT,
        what="every e-mail, after the worker's death",
        detail=shipped_stack["worker"].log_tail,
    )
    wait_until(
        lambda: not Notification.objects.exclude(status=Notification.Status.SENT).exists(),
        timeout=TIMEOUT,
        what="every outbox row to be marked sent",
    )
    assert sink.handler.duplicates() == {}
