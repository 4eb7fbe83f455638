"""Open tickets through one web process, then two at once, then nginx in front of both.

    .venv/bin/python bench/bench_scale_out.py [--customers 16] [--tickets 480] [--rounds 2]
                                              [--workers 2] [--no-nginx]

Needs PostgreSQL at postgres://postgres@127.0.0.1:5432 and `redis-server` on the PATH (it starts
its own on a free port, the cache and the broker of every process); nginx (Debian's nginx-light)
for the last row. Creates portal_bench_scale_out (dropped first) and migrates it; creates
--customers workshops, each with a unit, and service hours at every hour. Then, each round and
for each row, starts gunicorn on config.settings.production (--workers sync workers each, the
same environment, one shared attachment folder):

  one    one gunicorn; every customer posts to it
  two    two gunicorns at once; the customers are split across them, half each
  nginx  the shipped nginx (deploy/nginx/) in front of the same two, NGINX_UPSTREAM=a,b

Every customer logs in over HTTP, then all post the portal's new-ticket form at once, from a
thread each, until --tickets POSTs have been answered (a redirect to the new ticket is a success,
anything else a failure). Prints tickets per second (first POST sent to last answer received),
p50/p95 latency of a POST, and checks in SQL that exactly --tickets tickets were created, with
distinct numbers that follow the year's counter without a gap. The load generator runs on the same
machine as the servers, as do PostgreSQL and Redis: on a small machine the figures say how the
portal shares the CPU, not how far two machines would go.
"""

import argparse
import os
import queue
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import SERVER, django_on_fresh_database, percentile  # noqa: E402

DB_NAME = "portal_bench_scale_out"
PASSWORD = "bench-scale-password-2026"  # noqa: S105 - a throwaway database's users
NEW_TICKET = "/tickets/new/"
TO_TICKET = re.compile(r"/tickets/(\d+)/$")


def setup_data(customers: int) -> list[dict]:
    """Workshops with a unit each, terms in force, the service open at every hour."""
    from datetime import time, timedelta

    from django.utils import timezone

    from core.models import TermsVersion
    from customers.services import customer_create, unit_register
    from products.models import Product
    from schedule.models import ServiceHours
    from schedule.services import service_hours_delete, service_hours_save

    for hours in ServiceHours.objects.all():
        service_hours_delete(hours=hours)
    for weekday in range(7):
        service_hours_save(
            hours=ServiceHours(weekday=weekday, opens_at=time(0, 0), closes_at=time(23, 59))
        )
    terms = TermsVersion.objects.create(
        version="bench", effective_from=timezone.now() - timedelta(days=1), text_it="-"
    )
    product = Product.objects.filter(has_serial_number=True).order_by("position").first()
    made = []
    for n in range(customers):
        customer = customer_create(
            code=f"SCALE{n:03d}",
            company=f"Workshop {n}",
            email=f"scale{n}@bench.example.com",
            password=PASSWORD,
            contact_name="Bench",
            language="en",
            country="IT",
        )
        unit = unit_register(customer=customer, product=product, serial_number=f"SC-{n:06d}")
        made.append({"code": customer.code, "unit": unit.pk, "terms": terms.pk})
    return made


def form_fields(customer: dict) -> dict:
    """The new-ticket form as a browser fills it in, with a subject and form token of its own."""
    return {
        "target": f"unit:{customer['unit']}",
        "kind": "problem",
        "language": "en",
        "subject": f"Write fails at 87% ({uuid.uuid4().hex[:10]})",
        "vehicle_description": "Fiat Punto 1.3 Multijet 2012",
        "ecu_description": "Bosch EDC16C39",
        "software_version": "3.2",
        "description": "The tool stops while writing the ECU at 87%, every time.",
        "error_message": "ERR 0x2A: write failed",
        "operations": "Disconnected the battery charger, tried again with a new cable.",
        "confirm_new_problem": "on",
        "accept_terms": "on",
        "terms_version": str(customer["terms"]),
        "form_token": uuid.uuid4().hex,
    }


def ticket_marks(database_url: str) -> tuple[int, int]:
    """The highest ticket row id and the counter's last number, before a run."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        last_id = conn.execute("SELECT COALESCE(max(id), 0) FROM tickets_ticket").fetchone()[0]
        number = conn.execute(
            "SELECT last_number FROM tickets_ticketcounter WHERE name = 'ticket'"
        ).fetchone()
    return last_id, number[0] if number else 0


def tickets_created(database_url: str, *, after_id: int, counter_before: int) -> dict:
    """What SQL says of the tickets created since a row id: how many, which numbers."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        numbers = [
            row[0]
            for row in conn.execute(
                "SELECT number FROM tickets_ticket WHERE id > %s ORDER BY number", [after_id]
            )
        ]
    expected = list(range(counter_before + 1, counter_before + 1 + len(numbers)))
    return {"count": len(numbers), "distinct": len(set(numbers)), "contiguous": numbers == expected}


def start_webs(count: int, *, env: dict, workers: int, workdir: Path) -> list:
    from tests.production.stack import Gunicorn

    webs = []
    for n in range(count):
        web = Gunicorn(env=env, log_path=workdir / f"gunicorn-{n}.log", workers=workers)
        webs.append(web)
        web.start(timeout=90)
    return webs


def logged_in(base_urls: list[str], customers: list[dict]) -> list:
    """A logged-in browser per customer, spread over the base URLs in turn."""
    from tests.production.stack import PortalClient

    clients = []
    for n, customer in enumerate(customers):
        client = PortalClient(base_urls[n % len(base_urls)], timeout=60)
        answer = client.log_in(customer["code"], PASSWORD)
        if "sessionid" not in client.session.cookies:
            raise SystemExit(f"{customer['code']} could not log in ({answer.status_code})")
        token = client.csrf_token(client.get(NEW_TICKET))
        clients.append((client, customer, token))
    return clients


def create_load(clients: list, *, total: int) -> dict:
    """Every client posts new tickets at once until `total` POSTs have been answered."""
    budget = queue.Queue()
    for n in range(total):
        budget.put(n)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def customer_loop(client_tuple) -> None:
        client, customer, token = client_tuple
        https = client.base_url.replace("http://", "https://")
        while True:
            try:
                budget.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            answer = client.session.post(
                client.url(NEW_TICKET),
                data={"csrfmiddlewaretoken": token, **form_fields(customer)},
                headers={"Referer": f"{https}{NEW_TICKET}"},
                allow_redirects=False,
                timeout=60,
            )
            elapsed = time.perf_counter() - started
            with lock:
                if answer.status_code == 302 and TO_TICKET.search(answer.headers["Location"]):
                    latencies.append(elapsed)
                else:
                    failures.append(f"{answer.status_code} {answer.headers.get('Location', '')}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        list(pool.map(customer_loop, clients))
    window = time.perf_counter() - started
    return {"latencies": latencies, "failures": failures, "window": window}


def run_row(row: str, *, args, env: dict, customers: list[dict], database_url: str) -> dict:
    from tests.production.proxy import Nginx

    workdir = Path(tempfile.mkdtemp(prefix=f"bench-scale-{row}-"))
    webs = start_webs(1 if row == "one" else 2, env=env, workers=args.workers, workdir=workdir)
    proxy = None
    try:
        urls = [web.url for web in webs]
        if row == "nginx":
            upstream = ",".join(url.removeprefix("http://") for url in urls)
            proxy = Nginx(upstream=upstream, root=workdir / "nginx")
            proxy.start()
            urls = [proxy.url]
        clients = logged_in(urls, customers)
        after_id, counter_before = ticket_marks(database_url)
        load = create_load(clients, total=args.tickets)
        check = tickets_created(database_url, after_id=after_id, counter_before=counter_before)
    finally:
        if proxy is not None:
            proxy.stop()
        for web in webs:
            web.stop()
    latencies = load["latencies"]
    ok = (
        not load["failures"]
        and check["count"] == check["distinct"] == args.tickets
        and check["contiguous"]
    )
    return {
        "rate": len(latencies) / load["window"],
        "p50": percentile(latencies, 0.50) * 1000 if latencies else 0,
        "p95": percentile(latencies, 0.95) * 1000 if latencies else 0,
        "check": check,
        "failures": load["failures"],
        "ok": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=16)
    parser.add_argument("--tickets", type=int, default=480, help="POSTs per row and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers each")
    parser.add_argument("--no-nginx", action="store_true")
    args = parser.parse_args()

    from tests.notifications.live import RedisServer
    from tests.production.proxy import nginx_binary
    from tests.production.stack import production_env

    database_url = django_on_fresh_database(DB_NAME)
    from django.test import override_settings

    # Hashed as production checks them (the test settings, set up here, use MD5).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        customers = setup_data(args.customers)
    rows = ["one", "two"] + ([] if args.no_nginx or nginx_binary() is None else ["nginx"])
    media = Path(tempfile.mkdtemp(prefix="bench-scale-media-"))
    results: dict[str, list[dict]] = {row: [] for row in rows}
    with RedisServer() as redis_server:
        env = production_env(
            database_url=database_url,
            redis_url=redis_server.url,
            email_url="consolemail://",
            media_root=media,
            DATABASE_CONN_MAX_AGE="60",
            # gunicorn sees nginx in the last row; the address does not matter here.
            AXES_PROXY_COUNT="0",
            HOLIDAYS_COUNTRY="",
            SERVICE_GATE_OUTSIDE_HOURS="false",
        )
        for round_no in range(1, args.rounds + 1):
            for row in rows:
                result = run_row(
                    row, args=args, env=env, customers=customers, database_url=database_url
                )
                results[row].append(result)
                check = result["check"]
                print(
                    f"round {round_no} {row:5}: {result['rate']:6.1f} tickets/s, "
                    f"p50 {result['p50']:6.0f} ms, p95 {result['p95']:6.0f} ms; SQL: "
                    f"{check['count']} tickets, {check['distinct']} distinct numbers, "
                    f"{'contiguous' if check['contiguous'] else 'NOT contiguous'}"
                    + (
                        f"; {len(result['failures'])} failed: {result['failures'][:3]}"
                        if result["failures"]
                        else ""
                    ),
                    flush=True,
                )

    cpus = os.cpu_count()
    print()
    print(
        f"{args.customers} customers posting at once, {args.tickets} tickets per row and round, "
        f"{args.rounds} rounds; gunicorn: {args.workers} sync workers per process; "
        f"{cpus} CPUs shared by the servers, PostgreSQL, Redis and the load generator."
    )
    print(f"{'row':32} {'tickets/s':>10} {'p50 ms':>8} {'p95 ms':>8}  numbers")
    labels = {
        "one": "one web process",
        "two": "two web processes",
        "nginx": "nginx in front of the two",
    }
    failed = False
    for row in rows:
        runs = results[row]
        failed |= not all(run["ok"] for run in runs)
        print(
            f"{labels[row]:32} {statistics.median(r['rate'] for r in runs):10.1f} "
            f"{statistics.median(r['p50'] for r in runs):8.0f} "
            f"{statistics.median(r['p95'] for r in runs):8.0f}  "
            f"{'distinct, contiguous' if all(r['ok'] for r in runs) else 'FAILED'}"
        )
    print(f"(database {SERVER}/{DB_NAME}, kept for a look)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
