"""Measure what the service gate costs a portal page.

Sets up its own throwaway SQLite database, then times two pages of a logged-in customer with the
gate (middleware + notices, as deployed) and without it (the same status and notices handed over
ready-made), interleaving rounds so that both sides see the same machine. Run:

    .venv/bin/python bench/bench_gate.py
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = Path(tempfile.mkdtemp(prefix="bench-gate-")) / "bench.sqlite3"
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"

import django  # noqa: E402

django.setup()

from datetime import date, timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

import schedule.context_processors  # noqa: E402
import schedule.middleware  # noqa: E402
from customers.services import customer_create  # noqa: E402
from schedule.gate import service_status  # noqa: E402
from schedule.models import Closure, Maintenance, Notice  # noqa: E402
from schedule.selectors import notice_list_active  # noqa: E402
from schedule.services import closure_save, maintenance_save, notice_save  # noqa: E402

ROUNDS = 25  # alternating batches, so that both sides see the same machine
REQUESTS = 40


def setup_data():
    call_command("migrate", verbosity=0)
    customer = customer_create(
        code="BENCH1",
        company="Bench workshop",
        email="bench@example.com",
        contact_name="Bench",
        language="en",
        country="IT",
        password="bench-password-123",  # noqa: S106
    )
    now = timezone.now()
    closure_save(
        closure=Closure(
            title_it="Ferie",
            first_day=date(2020, 8, 10),
            last_day=date(2020, 8, 21),
            recurs_yearly=True,
        )
    )
    maintenance_save(
        maintenance=Maintenance(
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=2),
            text_it="Manutenzione.",
        )
    )
    notice_save(
        notice=Notice(
            text_it="Avviso.",
            text_en="Notice.",
            publish_from=now - timedelta(days=1),
            publish_until=now + timedelta(days=5),
        )
    )
    return customer


def time_page(client, path: str) -> float:
    start = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.get(path)
        assert response.status_code in (200, 503)
    return (time.perf_counter() - start) / REQUESTS


def main():
    setup_test_environment()
    customer = setup_data()
    client = Client()
    client.force_login(customer.user)
    real_status = schedule.middleware.service_status
    real_notices = schedule.context_processors.notice_list_active

    # Without the gate, the same answers are handed over ready-made: both sides render the
    # same page, so the difference is what consulting the calendar costs.
    fixed_status = service_status()
    fixed_notices = notice_list_active(at=fixed_status.at)
    print(f"state now: {fixed_status.state}; {len(fixed_notices)} notices shown", flush=True)

    def gate_off():
        schedule.middleware.service_status = lambda *, at=None: fixed_status
        schedule.context_processors.notice_list_active = lambda **kwargs: fixed_notices

    def gate_on():
        schedule.middleware.service_status = real_status
        schedule.context_processors.notice_list_active = real_notices

    for path in ("/", "/tickets/"):
        with_gate, without = [], []
        time_page(client, path)  # warm up caches and templates
        for _ in range(ROUNDS):
            gate_off()
            without.append(time_page(client, path))
            gate_on()
            with_gate.append(time_page(client, path))
        on, off = statistics.median(with_gate), statistics.median(without)
        print(
            f"{path:10} with gate {on * 1e3:7.3f} ms   without {off * 1e3:7.3f} ms   "
            f"ratio {on / off:6.3f}   (+{(on - off) * 1e6:6.0f} µs per page)",
            flush=True,
        )

    calls = 20_000
    start = time.perf_counter()
    for _ in range(calls):
        status = service_status()
        notice_list_active(at=status.at)
    per_call = (time.perf_counter() - start) / calls
    print(f"gate per request (status + notices, cached calendar): {per_call * 1e6:.1f} µs")
    start = time.perf_counter()
    for _ in range(calls):
        service_status()
    per_call = (time.perf_counter() - start) / calls
    print(f"service_status() alone: {per_call * 1e6:.1f} µs per call (cached calendar)")
    closed_at = timezone.now().replace(hour=2)
    start = time.perf_counter()
    for _ in range(calls // 10):
        service_status(at=closed_at)
    per_call = (time.perf_counter() - start) / (calls // 10)
    print(f"service_status() when closed (computes the next opening): {per_call * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
