"""Time the operators' queue at scale on a throwaway PostgreSQL database.

    .venv/bin/python bench/bench_queue.py [--tickets 1000000] [--runs 7] [--reuse]
                                          [--database portal_bench_queue] [--explain]

Creates the database (portal_bench_queue by default) on postgres://postgres@127.0.0.1:5432
(dropped first unless --reuse and already seeded), migrates it, seeds it with
`manage.py seed_volume`, then times through Django's test Client, as an operator: the queue's first
page, filtered pages (status, product, operator), a search by number, customer code and serial,
`ticket_take_next`, and, as a manager, the dashboard and its CSV. Prints the median of several
runs and the queries per page; --explain also prints PostgreSQL's plan of every query on the
ticket table, flagging sequential scans.
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
    """Run a manage.py command against the bench database."""
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def prepare(*, tickets: int, reuse: bool, database: str, env: dict) -> None:
    """Create, migrate and seed the bench database, or reuse one already seeded."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists and reuse:
            with psycopg.connect(f"{SERVER}/{database}") as db:
                row = db.execute("SELECT count(*) FROM tickets_ticket").fetchone()
            if row and row[0] >= tickets:
                print(f"Reusing {database} with {row[0]:,} tickets.")
                run("migrate", "--noinput", "-v", "0", env=env)
                return
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    run("migrate", "--noinput", "-v", "0", env=env)
    started = time.monotonic()
    run("seed_volume", "--tickets", str(tickets), env=env)
    print(f"Seeding {tickets:,} tickets took {time.monotonic() - started:.1f} s (wall clock).")


def timed(fn, runs: int):
    """Run fn several times; return median, min and max milliseconds and the queries of a run."""
    durations, queries = [], None
    for _ in range(runs):
        from django.db import connection, reset_queries
        from django.test.utils import CaptureQueriesContext

        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            fn()
            durations.append((time.perf_counter() - started) * 1000)
        queries = ctx.captured_queries
    return statistics.median(durations), min(durations), max(durations), queries


def explain(queries) -> list[str]:
    """Return PostgreSQL's plans of the SELECTs on the ticket table, flagging sequential scans."""
    from django.db import connection

    lines = []
    for query in queries:
        sql = query["sql"]
        if not sql.startswith("SELECT") or '"tickets_ticket"' not in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
        flag = "  <-- SEQ SCAN" if any("Seq Scan on tickets_ticket" in p for p in plan) else ""
        lines.append(f"  SQL: {sql[:160]}{'…' if len(sql) > 160 else ''}{flag}")
        lines.extend(f"      {p}" for p in plan)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--database", default=DB_NAME, help="database name on the local server")
    parser.add_argument("--explain", action="store_true", help="print the plans of the queries")
    options = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{options.database}",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    prepare(tickets=options.tickets, reuse=options.reuse, database=options.database, env=env)

    os.environ.update(
        DATABASE_URL=env["DATABASE_URL"], DJANGO_SETTINGS_MODULE="config.settings.test"
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.urls import reverse

    from core.roles import MANAGERS, OPERATORS
    from customers.models import Customer, User
    from products.models import Product
    from tickets.models import Ticket
    from tickets.services import ticket_take_next

    def staff(username, role):
        user, _created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        user.groups.add(Group.objects.get(name=role))
        return user

    operator = staff("bench-operator", OPERATORS)
    manager = staff("bench-manager", MANAGERS)
    client, manager_client = Client(), Client()
    client.force_login(operator)
    manager_client.force_login(manager)
    url = reverse("admin:tickets_ticket_changelist")
    product = Product.objects.filter(has_serial_number=True).order_by("position").first()
    some = Ticket.objects.order_by("-number").values("number", "customer_id", "serial_number")[5000]
    code = Customer.objects.get(pk=some["customer_id"]).code
    busy = (
        Ticket.objects.exclude(status=Ticket.Status.CLOSED)
        .exclude(assigned_to=None)
        .values_list("assigned_to", flat=True)
        .first()
    )
    total = Ticket.objects.count()
    open_count = Ticket.objects.exclude(status=Ticket.Status.CLOSED).count()

    def get(query, path=url, who=client):
        def fetch():
            response = who.get(path, query)
            assert response.status_code == 200, response.status_code

        return fetch

    cases = [
        ("queue, first page", get({})),
        ("queue, page 20", get({"p": 20})),
        ("queue, status=new", get({"status": "new"})),
        ("queue, product", get({"product__id__exact": product.pk})),
        ("queue, status=new + product", get({"status": "new", "product__id__exact": product.pk})),
        ("queue, unassigned", get({"operator": "none"})),
        ("queue, one operator", get({"operator": str(busy)})),
        ("queue, mine", get({"operator": "mine"})),
        ("queue, closed + product", get({"status": "closed", "product__id__exact": product.pk})),
        ("queue, all statuses", get({"status": "all"})),
        ("search by number", get({"q": str(some["number"])})),
        ("search by customer code", get({"q": code})),
        ("search by serial", get({"q": some["serial_number"] or "NONE"})),
        ("take next", lambda: ticket_take_next(operator=operator)),
        ("dashboard (manager)", get({}, reverse("tickets_admin:dashboard"), manager_client)),
        ("dashboard CSV", get({}, reverse("tickets_admin:dashboard-csv"), manager_client)),
    ]
    get({})()  # warm the caches (calendar, templates) once
    print(f"\n{total:,} tickets, {open_count:,} open; {options.runs} runs each\n")
    print(f"{'case':36} {'median ms':>10} {'min':>8} {'max':>8} {'queries':>8}")
    plans = []
    for name, fn in cases:
        median, low, high, queries = timed(fn, options.runs)
        print(f"{name:36} {median:10.1f} {low:8.1f} {high:8.1f} {len(queries):8d}")
        if options.explain:
            plans += [f"\n== {name}", *explain(queries)]
    if plans:
        print("\n".join(plans))


if __name__ == "__main__":
    main()
