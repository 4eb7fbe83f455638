"""The demo's first minute: a short `make run` ending with the log-ins, and every role to try."""

import io
import time

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from customers.models import Customer
from tests.schedule.conftest import rome
from tests.test_deploy import run_python
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SATURDAY = rome(2025, 11, 29, 10, 0)
WEDNESDAY = rome(2025, 11, 26, 10, 0)


def seed(at) -> list[str]:
    out = io.StringIO()
    with time_machine.travel(at, tick=False):
        call_command("seed_demo", stdout=out)
    return [line for line in out.getvalue().splitlines() if line.strip()]


def test_the_log_ins_come_last_with_how_to_try_writing_while_the_service_is_closed():
    lines = seed(SATURDAY)
    text = "\n".join(lines)
    tail = "\n".join(lines[-20:])
    for login in ("DEMO01", "DEMO02", "DEMO03", "DEMO04", "operator /", "manager /"):
        assert login in tail
    assert "demo-portal-2026" in tail
    assert "The service is closed now" in text
    assert "It opens again on Monday 1 December 2025, 08:30." in text
    assert "Mon-Fri 08:30-12:30, 14:00-18:00" in text
    assert "DEMO_SERVICE_ALWAYS_OPEN=1 make run" in text
    assert "Service calendar > Service hours" in text
    assert len(lines) < 30


def test_while_open_the_closing_lines_say_so_and_still_name_the_switch():
    text = "\n".join(seed(WEDNESDAY))
    assert "The service is open now until 12:30" in text
    assert "DEMO_SERVICE_ALWAYS_OPEN=1 make run" in text


def test_the_suspended_customer_has_tickets_from_before_its_suspension(client):
    seed(WEDNESDAY)
    suspended = Customer.objects.get(code="DEMO04")
    assert suspended.is_suspended
    tickets = list(Ticket.objects.filter(customer=suspended))
    assert len(tickets) == 2
    assert all(ticket.received_at < suspended.suspended_at for ticket in tickets)
    assert {ticket.status for ticket in tickets} == {
        Ticket.Status.WAITING_CUSTOMER,
        Ticket.Status.CLOSED,
    }
    assert suspended.units.count() == 1

    # It reads them (and the answer) but cannot reply: the demo shows "reads, cannot write".
    waiting = next(t for t in tickets if t.status == Ticket.Status.WAITING_CUSTOMER)
    client.force_login(suspended.user)
    with time_machine.travel(WEDNESDAY, tick=False):
        page = client.get(reverse("tickets:detail", args=[waiting.number])).content.decode()
        reply = client.post(reverse("tickets:reply", args=[waiting.number]), {"body": "Hello"})
    assert "Your account is suspended (terms, §5)" in page
    assert reply.status_code == 400
    assert "Counterfeit software found" in reply.content.decode()


def test_make_runs_seeding_prints_no_e_mail_and_writes_them_to_var_mail(tmp_path):
    """The local settings as `make run` uses them, on a fresh SQLite database."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    mail_dir = settings.BASE_DIR / "var" / "mail"
    before = set(mail_dir.glob("*")) if mail_dir.exists() else set()
    started = time.time()
    migrate = run_python("manage.py", "migrate", "--noinput", "-v", "0", env=env)
    assert migrate.returncode == 0, migrate.stderr
    result = run_python("manage.py", "seed_demo", env=env)
    assert result.returncode == 0, result.stderr
    written = {path for path in mail_dir.glob("*") if path.stat().st_mtime >= started - 1}
    try:
        output = (result.stdout + result.stderr).splitlines()
        assert len(output) < 35, "\n".join(output)
        assert "Subject:" not in result.stdout + result.stderr
        assert "WARNING" not in result.stderr
        assert "DEMO04" in "\n".join(output[-20:])
        assert "written to var/mail/" in result.stdout
        messages = [path.read_text() for path in written - before]
        assert len(messages) >= 10
        assert any("Subject:" in message for message in messages)
    finally:
        for path in written - before:
            path.unlink()
