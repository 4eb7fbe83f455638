"""Ticket numbers: distinct and contiguous under concurrent submissions, no gap after a crash."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.db import IntegrityError, connection

from tests.conftest import ticket_submit
from tests.customers.factories import CustomerFactory, UnitFactory
from tests.notifications.live import database_url
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket, TicketCounter

pytestmark = pytest.mark.usefixtures("service_open")

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    import os, sys, time
    import django
    django.setup()
    from schedule import gate
    from django.utils import timezone

    # The calendar is not under test here: keep it open whatever the hour.
    gate.service_status = lambda *, at=None: gate.ServiceStatus(
        state=gate.ServiceState.OPEN, reason="", next_opening=None, at=timezone.now()
    )
    from core.models import TermsVersion
    from customers.models import Customer, Unit
    from tickets.services import ticket_create

    customer_pks, terms_pk, count, start_at = sys.argv[1:5]
    terms = TermsVersion.objects.get(pk=int(terms_pk))
    jobs = []
    for pk in customer_pks.split(","):
        customer = Customer.objects.select_related("user").get(pk=int(pk))
        jobs.append((customer, Unit.objects.select_related("product").get(customer=customer)))
    while time.time() < float(start_at):
        time.sleep(0.005)
    for i in range(int(count)):
        customer, unit = jobs[i % len(jobs)]
        ticket = ticket_create(
            customer=customer, product=unit.product, unit=unit, kind="problem",
            language="en", subject=f"parallel {os.getpid()} {i}", description="x",
            terms_version=terms, vehicle_description="car", error_message="E1",
            confirmed_new_problem=True,
        )
        print(ticket.number, flush=True)
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_get_distinct_contiguous_numbers(require_postgres, terms):
    processes, per_process = 8, 8
    customers = [CustomerFactory() for _ in range(4)]
    for customer in customers:
        UnitFactory(customer=customer)
    # Start from an existing history: numbering continues from it.
    TicketCounter.objects.update_or_create(name="ticket", defaults={"last_number": 1000})
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PYTHONPATH": str(ROOT),
    }
    start_at = str(time.time() + 3)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                ",".join(str(c.pk) for c in customers),
                str(terms.pk),
                str(per_process),
                start_at,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    printed = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-3000:]
        printed.extend(int(line) for line in out.split())

    total = processes * per_process
    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == total
    assert numbers == list(range(1001, 1001 + total))
    assert sorted(printed) == numbers
    assert TicketCounter.objects.get(name="ticket").last_number == 1000 + total


@pytest.mark.django_db
def test_a_crash_after_the_number_is_taken_leaves_no_gap(monkeypatch, customer, unit, terms):
    first = ticket_submit(customer=customer, unit=unit, terms=terms)

    def boom(**kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr("tickets.services.attachments_attach", boom)
        with pytest.raises(RuntimeError):
            ticket_submit(customer=customer, unit=unit, terms=terms)
    assert Ticket.objects.count() == 1
    second = ticket_submit(customer=customer, unit=unit, terms=terms)
    assert second.number == first.number + 1


@pytest.mark.django_db
def test_a_refused_submission_takes_no_number(customer, unit, terms):
    from django.core.exceptions import ValidationError

    first = ticket_submit(customer=customer, unit=unit, terms=terms)
    with pytest.raises(ValidationError):
        ticket_submit(customer=customer, unit=unit, terms=terms, confirmed_new_problem=False)
    assert ticket_submit(customer=customer, unit=unit, terms=terms).number == first.number + 1


@pytest.mark.django_db
def test_numbers_are_unique_in_the_database(customer, unit, terms):
    TicketFactory(customer=customer, unit=unit, number=5)
    with pytest.raises(IntegrityError):
        TicketFactory(customer=customer, unit=unit, number=5)


@pytest.mark.django_db
def test_numbering_works_without_the_counter_row(customer, unit, terms):
    TicketCounter.objects.all().delete()
    assert ticket_submit(customer=customer, unit=unit, terms=terms).number == 1
    assert ticket_submit(customer=customer, unit=unit, terms=terms).number == 2
