"""Pieces the benchmark scripts share: a fresh, migrated database and percentiles."""

import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"


def fresh_database(name: str, *, env: dict) -> str:
    """Drop and create a database on the machine's PostgreSQL, migrate it; return its URL."""
    try:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        print(f"PostgreSQL is not reachable at {SERVER} ({exc}). Start it, then run again.")
        sys.exit(2)
    url = f"{SERVER}/{name}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": url},
        check=True,
    )
    return url


def django_on_fresh_database(name: str) -> str:
    """Give this process Django on a fresh, migrated database (test settings); return its URL."""
    import os

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    url = fresh_database(name, env=env)
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="config.settings.test")
    import django

    django.setup()
    return url


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def bench_workshop(*, code: str, serial_number: str):
    """A customer with one unit, terms in force and an operator (Django set up); return them."""
    from datetime import timedelta

    from django.utils import timezone

    from core.models import TermsVersion
    from customers.models import User
    from customers.services import customer_create, unit_register
    from products.models import Product

    product = Product.objects.filter(has_serial_number=True).order_by("position").first()
    terms = TermsVersion.objects.create(
        version="bench", effective_from=timezone.now() - timedelta(days=1), text_it="-"
    )
    customer = customer_create(
        code=code, company="Bench workshop", email="bench@bench.example", language="en"
    )
    unit = unit_register(customer=customer, product=product, serial_number=serial_number)
    operator = User.objects.create_user(
        username="bench-operator", email="operator@bench.example", is_staff=True
    )
    return customer, unit, terms, operator
