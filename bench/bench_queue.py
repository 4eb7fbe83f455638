"""Time the operators' queue at scale on a throwaway PostgreSQL database.

    .venv/bin/python bench/bench_queue.py [--tickets 1000000] [--runs 7] [--reuse]

Creates portal_bench_queue on postgres://postgres@127.0.0.1:5432 (dropped first unless --reuse and
already seeded), migrates it, seeds it with `manage.py seed_volume`, then times through Django's
test Client, as an operator: the queue's first page, a filtered page (status + product), a search
by number, and `ticket_take_next`. Prints the median of several runs and the queries per page.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "portal_bench_queue"


def run(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def prepare(*, tickets: int, reuse: bool, env: dict) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if exists and reuse:
            with psycopg.connect(f"{SERVER}/{DB_NAME}") as db:
                row = db.execute("SELECT count(*) FROM tickets_ticket").fetchone()
            if row and row[0] >= tickets:
                print(f"Reusing {DB_NAME} with {row[0]:,} tickets.")
                run("migrate", "--noinput", "-v", "0", env=env)
                return
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    run("migrate", "--noinput", "-v", "0", env=env)
    started = time.monotonic()
    run("seed_volume", "--tickets", str(tickets), env=env)
    print(f"Seeding {tickets:,} tickets took {time.monotonic() - started:.1f} s (wall clock).")


def timed(fn, runs: int):
    durations, queries = [], None
    for _ in range(runs):
        from django.db import connection, reset_queries
        from django.test.utils import CaptureQueriesContext

        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            fn()
            durations.append((time.perf_counter() - started) * 1000)
        queries = len(ctx.captured_queries)
    return statistics.median(durations), min(durations), max(durations), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    options = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    prepare(tickets=options.tickets, reuse=options.reuse, env=env)

    os.environ.update(
        DATABASE_URL=env["DATABASE_URL"], DJANGO_SETTINGS_MODULE="config.settings.test"
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import Group, Permission
    from django.test import Client
    from django.urls import reverse

    from customers.models import User
    from products.models import Product
    from tickets.models import Ticket
    from tickets.services import ticket_take_next

    operator, _created = User.objects.get_or_create(
        username="bench-operator", defaults={"is_staff": True}
    )
    group = Group.objects.filter(name="Operators").first()
    if group is not None:
        operator.groups.add(group)
    operator.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="tickets", codename__in=["view_ticket", "change_ticket"]
        )
    )
    client = Client()
    client.force_login(operator)
    url = reverse("admin:tickets_ticket_changelist")
    product = Product.objects.filter(has_serial_number=True).order_by("position").first()
    some_number = Ticket.objects.order_by("-number").values_list("number", flat=True)[5000]
    total = Ticket.objects.count()
    open_count = Ticket.objects.exclude(status=Ticket.Status.CLOSED).count()

    def get(query):
        def fetch():
            response = client.get(url, query)
            assert response.status_code == 200, response.status_code

        return fetch

    cases = [
        ("queue, first page", get({})),
        (
            "queue, status=new + product",
            get({"status__exact": "new", "product__id__exact": product.pk}),
        ),
        (
            "queue, status=closed + product",
            get({"status__exact": "closed", "product__id__exact": product.pk}),
        ),
        ("search by number", get({"q": str(some_number)})),
        ("take next", lambda: ticket_take_next(operator=operator)),
    ]
    get({})()  # warm the caches (calendar, templates) once
    print(f"\n{total:,} tickets, {open_count:,} open; {options.runs} runs each\n")
    print(f"{'case':36} {'median ms':>10} {'min':>8} {'max':>8} {'queries':>8}")
    for name, fn in cases:
        median, low, high, queries = timed(fn, options.runs)
        print(f"{name:36} {median:10.1f} {low:8.1f} {high:8.1f} {queries:8d}")


if __name__ == "__main__":
    main()
