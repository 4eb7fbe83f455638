"""Time staff's full-text search at scale on a throwaway PostgreSQL database.

    .venv/bin/python bench/bench_search.py [--tickets 1000000] [--queries 40] [--runs 3]
                                           [--reuse] [--database portal_bench_search] [--explain]

Creates the database (portal_bench_search by default; dropped first unless --reuse finds it
seeded), migrates it, and seeds it the way a bulk load is done: the search triggers disabled,
`manage.py seed_volume` (COPY), then the tickets' and messages' text rewritten in SQL from a
vocabulary of ECU, vehicle and error terms in Italian and English (skewed: a few words are in
most tickets, as "centralina" is), then the search rows written by `tickets_search_rebuild` in
batches (the figure a big database's backfill takes) and the triggers enabled again.

Then times, through Django's test Client as an operator (the whole page: session, permission,
the results query and the highlighted snippets), --queries different searches of each kind, each
--runs times: two-word searches (two vocabulary words at random), single common words, partial
serial numbers (5 to 7 characters of an existing serial), and the queue's exact search by
number. Prints p50 / p95 / max milliseconds and the queries per page; --explain prints
PostgreSQL's plan of one search of each kind.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import SERVER, percentile  # noqa: E402

DB_NAME = "portal_bench_search"
TRIGGERS = (
    ("tickets_ticket", "tickets_search_ticket_insert"),
    ("tickets_ticket", "tickets_search_ticket_update"),
    ("tickets_ticketevent", "tickets_search_event_insert"),
    ("tickets_attachment", "tickets_search_attachment_insert"),
    ("tickets_attachment", "tickets_search_attachment_attach"),
)

# What workshops write about: most common first (the seed favours the head of each list).
PROBLEM_WORDS = [
    "centralina",
    "errore",
    "lettura",
    "scrittura",
    "checksum",
    "cavo",
    "connessione",
    "alimentazione",
    "tensione",
    "batteria",
    "tool",
    "error",
    "read",
    "write",
    "ECU",
    "failed",
    "timeout",
    "bootloader",
    "flash",
    "eeprom",
    "immobilizer",
    "protocollo",
    "OBD",
    "boot",
    "mode",
    "backup",
    "ripristino",
    "recovery",
    "aggiornamento",
    "update",
    "licenza",
    "token",
    "password",
    "bloccato",
    "stuck",
    "corrotto",
    "corrupt",
    "interfaccia",
    "interface",
    "driver",
    "firmware",
    "porta",
    "USB",
    "seriale",
    "serial",
    "pin",
    "tricore",
    "bench",
    "banco",
    "smontata",
    "unplugged",
    "virgin",
    "vergine",
    "clone",
    "dump",
    "file",
    "mappa",
    "map",
    "DPF",
    "EGR",
    "adblue",
    "iniettore",
    "injector",
    "turbo",
    "sensore",
    "sensor",
    "pressione",
    "pressure",
    "quadro",
    "cluster",
    "chiave",
    "key",
    "transponder",
    "antenna",
    "contachilometri",
    "odometer",
    "airbag",
    "crash",
    "cambio",
    "gearbox",
    "TCU",
    "abs",
    "esp",
    "volante",
    "steering",
    "radio",
    "navigatore",
    "display",
    "schermo",
    "screen",
    "crc",
    "codice",
    "code",
    "VIN",
    "identificazione",
    "identification",
    "scheda",
    "board",
    "saldatura",
    "soldering",
    "resistenza",
    "resistor",
    "fusibile",
    "fuse",
    "massa",
    "ground",
    "relè",
    "relay",
    "segnale",
    "signal",
    "diagnosi",
    "diagnosis",
    "guasto",
    "fault",
    "spia",
    "light",
    "avviamento",
    "start",
    "motore",
    "engine",
    "spento",
    "off",
    "acceso",
    "on",
    "riprogrammazione",
    "reprogramming",
    "calibrazione",
    "calibration",
    "software",
    "hardware",
    "versione",
    "version",
    "PC",
    "windows",
    "antivirus",
    "cavo_obd",
    "adattatore",
    "adapter",
    "alimentatore",
    "supply",
]
VEHICLES = [
    "Fiat Punto",
    "Fiat Panda",
    "Fiat Doblò",
    "Alfa Romeo Giulietta",
    "Alfa Romeo Giulia",
    "Lancia Ypsilon",
    "Jeep Renegade",
    "VW Golf",
    "VW Passat",
    "Audi A4",
    "Audi A3",
    "BMW 320d",
    "BMW X3",
    "Mercedes Sprinter",
    "Mercedes Classe C",
    "Renault Clio",
    "Renault Megane",
    "Peugeot 308",
    "Citroen C3",
    "Ford Focus",
    "Ford Transit",
    "Opel Astra",
    "Toyota Yaris",
    "Iveco Daily",
    "New Holland T6",
    "Kawasaki Z900",
    "Ducati Monster",
    "Volvo FH",
    "Scania R450",
    "Hyundai i30",
    "Kia Sportage",
    "Skoda Octavia",
    "Seat Leon",
]
ECUS = [
    "Bosch EDC17C46",
    "Bosch EDC16C39",
    "Bosch MED17.5",
    "Bosch ME7.5",
    "Bosch MG1CS003",
    "Bosch MD1CS004",
    "Siemens SID807",
    "Siemens PCR2.1",
    "Delphi DCM3.5",
    "Delphi DCM6.2",
    "Marelli IAW 5SF",
    "Marelli MJD8F2",
    "Continental SIM2K",
    "Continental EMS3120",
    "Denso 275800",
    "Visteon DCU102",
    "Valeo V40",
    "Bosch EDC7UC31",
    "Cummins CM2150",
    "Kefico CPEGD2",
]


def run(*args: str, env: dict) -> None:
    """Run a manage.py command against the bench database."""
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def seconds(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"


def sql_array(values) -> str:
    quoted = ",".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"ARRAY[{quoted}]::text[]"


def words_sql(count_sql: str, *, skew: float = 1.6) -> str:
    """SQL for `count_sql` words of the vocabulary, skewed towards the head; new per row."""
    return (
        f"(SELECT string_agg("  # noqa: S608 - the bench's own constants
        f"w.v[1 + floor(power(random(), {skew}) * array_length(w.v, 1))::int],"
        f" ' ') FROM generate_series(1, {count_sql}) AS g(n), words w WHERE g.n > 0 * t.id)"
    )


def seed(*, tickets: int, database: str, env: dict) -> None:
    """Seed with COPY (triggers off), write realistic text, backfill the search rows."""
    url = f"{SERVER}/{database}"
    with psycopg.connect(url, autocommit=True) as db:
        for table, trigger in TRIGGERS:
            db.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    started = time.monotonic()
    run("seed_volume", "--tickets", str(tickets), env=env)
    print(f"seed_volume, {tickets:,} tickets: {seconds(started)}")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("SELECT setseed(0.42)")
        words = f"(SELECT {sql_array(PROBLEM_WORDS)} AS v)"
        started = time.monotonic()
        db.execute(
            f"""
            WITH words AS {words}
            UPDATE tickets_ticket t SET
              subject = left(initcap({words_sql("3 + (t.id % 3)")}), 150),
              description = {words_sql("10 + (t.id % 15)")},
              error_message = CASE WHEN t.id % 3 = 0 THEN ''
                ELSE 'ERR 0x' || upper(to_hex((t.id * 7919) % 4096)) || ' ' ||
                     {words_sql("3")} END,
              vehicle_description = ({sql_array(VEHICLES)})[1 + (t.id * 31) % {len(VEHICLES)}]
                || ' ' || (2005 + t.id % 19),
              ecu_description = ({sql_array(ECUS)})[1 + (t.id * 17) % {len(ECUS)}],
              ecu_identification = lpad(((t.id * 2654435761) % 10000000000)::text, 10, '0')
            """  # noqa: S608 - the bench's own constants
        )
        print(f"ticket text rewritten: {seconds(started)}")
        started = time.monotonic()
        db.execute(
            f"""
            WITH words AS {words}
            UPDATE tickets_ticketevent t SET body = {words_sql("6 + (t.id % 12)")}
            WHERE t.kind = 'message'
            """  # noqa: S608 - the bench's own constants
        )
        print(f"message text rewritten: {seconds(started)}")
        started = time.monotonic()
        db.execute("VACUUM ANALYZE tickets_ticket")
        db.execute("VACUUM ANALYZE tickets_ticketevent")
        print(f"vacuum: {seconds(started)}")
        started = time.monotonic()
        low, high = db.execute("SELECT min(id), max(id) FROM tickets_ticket").fetchone()
        batch = 20_000
        for first in range(low, high + 1, batch):
            db.execute("SELECT tickets_search_rebuild(%s, %s)", [first, first + batch - 1])
        print(
            f"search rows written (tickets_search_rebuild, batches of {batch:,}): "
            f"{seconds(started)}"
        )
        for table, trigger in TRIGGERS:
            db.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        db.execute("VACUUM ANALYZE tickets_ticketsearch")
        size = db.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('tickets_ticketsearch')), "
            "pg_size_pretty(pg_relation_size('ticket_search_document_idx')), "
            "pg_size_pretty(pg_relation_size('ticket_search_codes_trgm_idx'))"
        ).fetchone()
        print(f"tickets_ticketsearch: {size[0]} in all; GIN document {size[1]}, trigram {size[2]}")


def prepare(*, tickets: int, reuse: bool, database: str, env: dict) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists and reuse:
            with psycopg.connect(f"{SERVER}/{database}") as db:
                row = db.execute("SELECT count(*) FROM tickets_ticketsearch").fetchone()
            if row and row[0] >= tickets:
                print(f"Reusing {database} with {row[0]:,} indexed tickets.")
                return
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    run("migrate", "--noinput", "-v", "0", env=env)
    seed(tickets=tickets, database=database, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40, help="different searches of each kind")
    parser.add_argument("--runs", type=int, default=3, help="times each search is run")
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
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from core.roles import OPERATORS
    from customers.models import User
    from tickets.models import Ticket

    operator, _created = User.objects.get_or_create(
        username="bench-search-operator", defaults={"is_staff": True}
    )
    operator.groups.add(Group.objects.get(name=OPERATORS))
    client = Client()
    client.force_login(operator)
    search_url = reverse("admin:tickets_ticket_search")
    queue_url = reverse("admin:tickets_ticket_changelist")

    rng = random.Random(7)
    total = Ticket.objects.count()
    serials = list(
        Ticket.objects.exclude(serial_number="")
        .order_by("?")
        .values_list("serial_number", flat=True)[: options.queries]
    )
    numbers = list(Ticket.objects.order_by("?").values_list("number", flat=True)[: options.queries])
    kinds = {
        "two words": [
            f"{rng.choice(PROBLEM_WORDS)} {rng.choice(PROBLEM_WORDS)}"
            for _ in range(options.queries)
        ],
        "one common word": [rng.choice(PROBLEM_WORDS[:10]) for _ in range(options.queries)],
        # The last 6 or 7 characters (zero-padded: never a ticket number, which would go to the
        # queue), as read off a unit's label.
        "partial serial": [s[-rng.randint(6, 7) :] for s in serials],
        "exact number (queue)": [str(n) for n in numbers],
    }

    def fetch(kind: str, query: str):
        url = queue_url if kind.startswith("exact") else search_url
        response = client.get(url, {"q": query})
        assert response.status_code == 200, (kind, query, response.status_code)
        return response

    fetch("two words", "centralina errore")  # warm the session, the templates, the calendar
    print(f"\n{total:,} tickets; {options.queries} searches of each kind, {options.runs} runs each")
    print(
        f"{'search (whole admin page)':28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'SQL p50':>8} {'SQL p95':>8} {'queries':>8} {'results':>8}"
    )
    for kind, queries in kinds.items():
        durations, db_times, counts, shown = [], [], [], []
        for _round in range(options.runs):
            for query in queries:
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = fetch(kind, query)
                    durations.append((time.perf_counter() - started) * 1000)
                counts.append(len(captured.captured_queries))
                db_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
                page = response.content.decode()
                shown.append(
                    page.count('class="ticket-search-result"') + page.count('class="field-number"')
                )
        print(
            f"{kind:28} {percentile(durations, 0.5):8.1f} {percentile(durations, 0.95):8.1f} "
            f"{max(durations):8.1f} {percentile(db_times, 0.5):8.1f} "
            f"{percentile(db_times, 0.95):8.1f} {statistics.median(counts):8.0f} "
            f"{statistics.median(shown):8.0f}"
        )
        if options.explain:
            from tickets.selectors import ticket_search

            with CaptureQueriesContext(connection) as captured:
                ticket_search(query=queries[0])
            print(f"  plan of {queries[0]!r}:")
            for q in captured.captured_queries[:1]:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                    for (line,) in cursor.fetchall():
                        print(f"    {line}")


if __name__ == "__main__":
    main()
