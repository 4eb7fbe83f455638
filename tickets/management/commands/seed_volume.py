"""Seed a large data set on PostgreSQL with COPY, for the scale figures (bench/bench_queue.py)."""

import random
import time
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from core.models import TermsVersion
from customers.models import Customer, Unit, User
from products.models import Product
from tickets.models import Ticket, TicketCounter, TicketEvent
from tickets.services import COUNTER_NAME

SUBJECTS = [
    "Write fails at 87%",
    "Checksum not corrected",
    "Cannot read the ECU",
    "Tool not recognised by the PC",
    "Update stuck at 40%",
    "Error 0x2A on boot mode",
]
VEHICLES = ["Fiat Punto 1.3 Multijet", "VW Golf 2.0 TDI", "BMW 320d", "Renault Clio 1.5 dCi"]
ECUS = ["Bosch EDC16C39", "Bosch EDC17C46", "Siemens SID807", "Delphi DCM3.5"]


def _default(field):
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if field.default is NOT_PROVIDED and field.get_internal_type() in ("CharField", "TextField"):
        return ""
    return None


class Copier:
    """Write model rows with COPY, filling the columns a row does not name with their defaults."""

    def __init__(self, cursor, model):
        self.cursor = cursor
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.defaults = {f.attname: _default(f) for f in self.fields}
        self.table = model._meta.db_table
        self.count = 0

    def __enter__(self):
        columns = ", ".join(f'"{f.column}"' for f in self.fields)
        self._copy_cm = self.cursor.copy(f'COPY "{self.table}" ({columns}) FROM STDIN')
        self.copy = self._copy_cm.__enter__()
        return self

    def write(self, row: dict) -> None:
        self.copy.write_row([row.get(f.attname, self.defaults[f.attname]) for f in self.fields])
        self.count += 1

    def __exit__(self, *exc):
        return self._copy_cm.__exit__(*exc)


def _next_id(cursor, model) -> int:
    cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{model._meta.db_table}"')  # noqa: S608
    return cursor.fetchone()[0] + 1


def _set_sequence(cursor, model) -> None:
    table = model._meta.db_table
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
        f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
    )


class Command(BaseCommand):
    help = "Seed customers, units, tickets (realistic status mix, years of history) and events."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=1_000_000)
        parser.add_argument("--years", type=float, default=5)
        parser.add_argument("--tickets-per-customer", type=int, default=50)
        parser.add_argument("--operators", type=int, default=25)
        parser.add_argument("--seed", type=int, default=5)

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("seed_volume writes with COPY: run it on PostgreSQL.")
        started = time.monotonic()
        rng = random.Random(options["seed"])  # noqa: S311 - test data, not secrets
        with transaction.atomic():
            counts = self.seed(rng=rng, **options)
        with connection.cursor() as cursor:
            for model in (User, Customer, Unit, Ticket, TicketEvent):
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{value:,} {name}" for name, value in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded {summary} in {elapsed:.1f} s."))

    def seed(self, *, rng, tickets, years, tickets_per_customer, operators, **_options):
        now = timezone.now()
        products = list(Product.objects.order_by("position"))
        serial_products = [p for p in products if p.has_serial_number]
        databank = next((p for p in products if not p.has_serial_number), None)
        terms = TermsVersion.objects.order_by("-effective_from").first()
        if terms is None:
            terms = TermsVersion.objects.create(
                version="VOLUME-1",
                effective_from=now - timedelta(days=int(365 * years) + 1),
                text_it="Termini (dati di prova).",
            )
        counter, _created = TicketCounter.objects.select_for_update().get_or_create(
            name=COUNTER_NAME
        )
        password = make_password(None)  # unusable: nobody logs in as a seeded customer
        n_customers = max(tickets // tickets_per_customer, 10)
        counts = {}
        with connection.cursor() as cursor:
            for model in (User, Customer, Unit, Ticket, TicketEvent):
                cursor.execute(f'LOCK TABLE "{model._meta.db_table}" IN EXCLUSIVE MODE')
            user_id = _next_id(cursor, User)
            customer_id = _next_id(cursor, Customer)
            unit_id = _next_id(cursor, Unit)
            ticket_id = _next_id(cursor, Ticket)
            event_id = _next_id(cursor, TicketEvent)
            tag = f"V{user_id:x}"

            operator_ids = []
            customer_users = []
            with Copier(cursor, User) as users:
                for n in range(operators):
                    users.write(
                        {
                            "id": user_id,
                            "password": password,
                            "username": f"vol-operator-{tag}-{n}",
                            "email": "",
                            "is_staff": True,
                            "is_active": True,
                            "date_joined": now,
                        }
                    )
                    operator_ids.append(user_id)
                    user_id += 1
                for n in range(n_customers):
                    code = f"{tag}-{n:07d}"
                    users.write(
                        {
                            "id": user_id,
                            "password": password,
                            "username": code,
                            "email": f"{code.lower()}@volume.example.com",
                            "is_active": True,
                            "date_joined": now,
                        }
                    )
                    customer_users.append((user_id, code))
                    user_id += 1
                counts["users"] = users.count

            customers = []
            with Copier(cursor, Customer) as rows:
                for uid, code in customer_users:
                    rows.write(
                        {
                            "id": customer_id,
                            "user_id": uid,
                            "code": code,
                            "company": f"Workshop {code}",
                            "language": rng.choice(("it", "it", "en", "fr")),
                            "country": "IT",
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
                    customers.append(customer_id)
                    customer_id += 1
                counts["customers"] = rows.count

            units_of: dict[int, list[tuple[int, Product, str]]] = {}
            with Copier(cursor, Unit) as rows:
                for cid in customers:
                    for _n in range(rng.choice((1, 1, 2, 3))):
                        product = rng.choice(serial_products)
                        serial = f"{tag}{unit_id:09d}"
                        rows.write(
                            {
                                "id": unit_id,
                                "customer_id": cid,
                                "product_id": product.pk,
                                "serial_number": serial,
                                "status": "active",
                                "created_at": now,
                                "updated_at": now,
                            }
                        )
                        units_of.setdefault(cid, []).append((unit_id, product, serial))
                        unit_id += 1
                counts["units"] = rows.count

            span = timedelta(days=365 * years).total_seconds()
            received = sorted(
                now - timedelta(seconds=rng.random() ** 1.3 * span) for _ in range(tickets)
            )
            number = counter.last_number
            events = []
            with Copier(cursor, Ticket) as rows:
                for at in received:
                    number += 1
                    row, ticket_events = self.ticket_row(
                        rng=rng,
                        now=now,
                        at=at,
                        customers=customers,
                        units_of=units_of,
                        databank=databank,
                        operator_ids=operator_ids,
                    )
                    row.update(
                        id=ticket_id,
                        number=number,
                        terms_version_id=terms.pk,
                        terms_accepted_at=at,
                        received_at=at,
                        created_at=at,
                        updated_at=row.get("closed_at") or at,
                    )
                    rows.write(row)
                    events.extend((ticket_id, *event) for event in ticket_events)
                    ticket_id += 1
                counts["tickets"] = rows.count
            with Copier(cursor, TicketEvent) as rows:
                for tid, kind, author, at, old, new in events:
                    rows.write(
                        {
                            "id": event_id,
                            "ticket_id": tid,
                            "kind": kind,
                            "author_id": author,
                            "is_public": True,
                            "old_status": old,
                            "new_status": new,
                            "created_at": at,
                            "body": "Please try again with the latest version."
                            if kind == TicketEvent.Kind.MESSAGE
                            else "",
                        }
                    )
                    event_id += 1
                counts["events"] = rows.count
            for model in (User, Customer, Unit, Ticket, TicketEvent):
                _set_sequence(cursor, model)
        counter.last_number = number
        counter.save(update_fields=["last_number"])
        return counts

    def ticket_row(self, *, rng, now, at, customers, units_of, databank, operator_ids):
        age = (now - at).days
        roll = rng.random()
        if age < 3:
            status = (
                "new"
                if roll < 0.5
                else "taken"
                if roll < 0.8
                else "waiting"
                if roll < 0.9
                else "answered"
            )
        elif age < 30:
            status = (
                "closed"
                if roll < 0.85
                else "answered"
                if roll < 0.9
                else "waiting"
                if roll < 0.95
                else "taken"
            )
        else:
            status = "closed" if roll < 0.997 else "answered"
        cid = rng.choice(customers)
        customer_user_id = None  # events by the customer carry no author in the seed
        if databank is not None and rng.random() < 0.08:
            unit_id, product, serial = None, databank, ""
        else:
            unit_id, product, serial = rng.choice(units_of[cid])
        row = {
            "customer_id": cid,
            "product_id": product.pk,
            "unit_id": unit_id,
            "serial_number": serial,
            "kind": "problem",
            "language": "it" if rng.random() < 0.7 else "en",
            "status": status,
            "subject": rng.choice(SUBJECTS),
            "vehicle_description": rng.choice(VEHICLES),
            "ecu_description": rng.choice(ECUS),
            "software_version": "3.2",
            "description": "The tool stops while writing; details in the screenshot.",
            "error_message": "ERR 0x2A",
        }
        events = [(TicketEvent.Kind.SUBMITTED, customer_user_id, at, "", "")]
        if status != "new":
            operator = rng.choice(operator_ids)
            taken = at + timedelta(minutes=rng.randint(5, 60 * 24))
            taken = min(taken, now)
            row.update(assigned_to_id=operator, taken_at=taken)
            events.append((TicketEvent.Kind.ASSIGNED, operator, taken, "new", "taken"))
            if status != "taken":
                answered = min(taken + timedelta(minutes=rng.randint(5, 60 * 8)), now)
                row["first_response_at"] = answered
                events.append((TicketEvent.Kind.MESSAGE, operator, answered, "", ""))
            if status == "closed":
                closed = min(
                    (row.get("first_response_at") or taken) + timedelta(days=rng.randint(0, 10)),
                    now,
                )
                row["closed_at"] = closed
                events.append((TicketEvent.Kind.CLOSED, operator, closed, "answered", "closed"))
        return row, events
