"""Every portal page makes as many queries with 50 tickets, events and files as with 1."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.core.factories import TermsVersionFactory
from tests.customers.factories import CustomerFactory, StaffFactory, UnitFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]


def build_world(n: int):
    """A customer with n units, n open and n closed tickets, and one ticket with n of each."""
    customer = CustomerFactory()
    staff = StaffFactory()
    units = [UnitFactory(customer=customer) for _ in range(n)]
    now = timezone.now()
    for i in range(n):
        TicketFactory(customer=customer, unit=units[i], received_at=now - timedelta(hours=i))
        TicketFactory(
            customer=customer,
            unit=units[i],
            status="closed",
            closed_at=now,
            received_at=now - timedelta(days=1, hours=i),
        )
    ticket = TicketFactory(customer=customer, unit=units[0], received_at=now + timedelta(hours=1))
    for i in range(n):
        author = staff if i % 2 else customer.user
        event = TicketEvent.objects.create(
            ticket=ticket, kind="message", author=author, body=f"m{i}"
        )
        for kind, name in (("screenshot", f"s{i}.png"), ("log", f"l{i}.log")):
            Attachment.objects.create(
                ticket=ticket,
                event=event,
                uploaded_by=author,
                kind=kind,
                file=f"attachments/x/{i}{name}",
                thumbnail=f"thumbnails/x/{i}.jpg" if kind == "screenshot" else "",
                original_name=name,
                content_type="image/png" if kind == "screenshot" else "text/plain",
                size=10,
            )
    # Staged files of an unfinished form show on the create and reply forms.
    for i in range(n):
        Attachment.objects.create(
            uploaded_by=customer.user,
            kind="other",
            file=f"attachments/x/st{i}.log",
            original_name=f"st{i}.log",
            content_type="text/plain",
            size=1,
        )
    return customer, ticket


PAGES = {
    "home": lambda t: reverse("tickets:home"),
    "ticket list": lambda t: reverse("tickets:list"),
    "ticket list, all": lambda t: reverse("tickets:list") + "?state=all",
    "ticket list, search": lambda t: reverse("tickets:list") + f"?state=all&q={t.number}",
    "create form": lambda t: reverse("tickets:create"),
    "create form, unit chosen": lambda t: reverse("tickets:create") + f"?unit={t.unit_id}",
    "ticket detail": lambda t: reverse("tickets:detail", args=[t.number]),
    "units": lambda t: reverse("customers:units"),
    "profile": lambda t: reverse("customers:profile"),
    "personal data": lambda t: reverse("customers:personal-data"),
    "terms": lambda t: reverse("core:terms"),
}


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context.captured_queries)


def _measure(client, n):
    customer, ticket = build_world(n)
    client.force_login(customer.user)
    client.get(reverse("tickets:home"))  # warm the caches (the service calendar)
    return {name: count_queries(client, page(ticket)) for name, page in PAGES.items()}


def test_customer_pages_make_as_many_queries_with_50_as_with_1(client, terms):
    small = _measure(client, 1)
    for i in range(50):
        TermsVersionFactory(effective_from=timezone.now() - timedelta(days=100 + i))
    large = _measure(client, 50)
    print("\nqueries per page:", small)
    assert large == small


def test_visitor_home_and_terms_do_not_grow(client, terms):
    client.get(reverse("tickets:home"))  # warm the caches (the service calendar)
    before = {
        "home": count_queries(client, reverse("tickets:home")),
        "terms": count_queries(client, reverse("core:terms")),
        "login": count_queries(client, reverse("customers:login")),
    }
    for i in range(50):
        TermsVersionFactory(effective_from=timezone.now() - timedelta(days=100 + i))
    after = {
        "home": count_queries(client, reverse("tickets:home")),
        "terms": count_queries(client, reverse("core:terms")),
        "login": count_queries(client, reverse("customers:login")),
    }
    print("\nvisitor queries per page:", before)
    assert after == before
