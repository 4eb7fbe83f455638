"""Every portal page makes as many queries with 50 tickets, events and files as with 1."""

from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.core.factories import TermsVersionFactory
from tests.customers.factories import CustomerFactory, StaffFactory, UnitFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment, TicketEvent
from tickets.portal.views import PAGE_SIZE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("service_open")]


def build_world(n: int) -> dict:
    """A customer with n units, n open and n closed tickets, and one ticket with n of each."""
    customer = CustomerFactory()
    staff = StaffFactory()
    units = [UnitFactory(customer=customer) for _ in range(n)]
    now = timezone.now()
    for i in range(n):
        TicketFactory(customer=customer, unit=units[i], received_at=now - timedelta(hours=i))
        closed = TicketFactory(
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
            ticket=ticket,
            kind="message",
            author=author,
            body=f"m{i}",
            old_status="new" if i % 2 else "",
            new_status="answered" if i % 2 else "",
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
    return {"customer": customer, "ticket": ticket, "closed": closed, "unit": units[0]}


PAGES = {
    "home": lambda w: reverse("tickets:home"),
    "ticket list": lambda w: reverse("tickets:list"),
    "ticket list, closed": lambda w: reverse("tickets:list") + "?state=closed",
    "ticket list, all": lambda w: reverse("tickets:list") + "?state=all",
    "ticket list, search": lambda w: reverse("tickets:list") + f"?state=all&q={w['ticket'].number}",
    "ticket list, serial": lambda w: reverse("tickets:list") + f"?q={w['unit'].serial_number}",
    "create form": lambda w: reverse("tickets:create"),
    "create form, unit chosen": lambda w: reverse("tickets:create") + f"?unit={w['unit'].pk}",
    "create form, loss report": lambda w: (
        reverse("tickets:create") + f"?unit={w['unit'].pk}&kind=loss"
    ),
    "ticket detail": lambda w: reverse("tickets:detail", args=[w["ticket"].number]),
    "ticket detail, closed": lambda w: reverse("tickets:detail", args=[w["closed"].number]),
    "units": lambda w: reverse("customers:units"),
    "unit report lost": lambda w: reverse("customers:unit-report-lost", args=[w["unit"].pk]),
    "profile": lambda w: reverse("customers:profile"),
    "personal data": lambda w: reverse("tickets:personal-data"),
    "terms": lambda w: reverse("core:terms"),
    "terms, one version": lambda w: reverse("core:terms-version", args=["1.0"]),
}


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context.captured_queries)


def _measure(client, n):
    world = build_world(n)
    client.force_login(world["customer"].user)
    client.get(reverse("tickets:home"))  # warm the caches (the service calendar)
    return {name: count_queries(client, page(world)) for name, page in PAGES.items()}


def test_customer_pages_make_as_many_queries_with_50_as_with_1(client, terms):
    TermsVersionFactory(version="1.0", effective_from=timezone.now() - timedelta(days=1000))
    small = _measure(client, 1)
    for i in range(50):
        TermsVersionFactory(effective_from=timezone.now() - timedelta(days=100 + i))
    large = _measure(client, 50)
    print("\nqueries per page:", small)
    # A list that fits on one page is not counted; one of several pages is, once.
    counted = {"ticket list", "ticket list, closed", "ticket list, all"}
    assert large == {name: small[name] + (name in counted) for name in small}
    # The budgets of the speed issue (a list in at most 5, a ticket page in 7), with room: one
    # query reads the session with its user and customer (customers.sessions), one the rows,
    # and one counts them when they fill more than a page.
    for name in ("ticket list", "ticket list, all", "ticket list, search", "home"):
        assert large[name] <= 3, (name, large[name])
    for name in ("ticket detail", "ticket detail, closed"):
        assert large[name] <= 5, (name, large[name])


def test_second_page_of_a_filtered_search_does_not_grow(client, terms):
    """Page 2 of the open tickets of one unit: 25 of them, then 75."""
    customer = CustomerFactory()
    unit = UnitFactory(customer=customer)
    now = timezone.now()

    def add(count, start):
        for i in range(start, start + count):
            TicketFactory(
                customer=customer,
                unit=unit,
                subject=f"Ticket-{i:03d}-end",
                received_at=now - timedelta(minutes=i),
            )
            TicketFactory(customer=customer, unit=unit, status="closed", closed_at=now)
            TicketFactory()  # another customer's, with its own unit

    add(25, 0)
    client.force_login(customer.user)
    url = reverse("tickets:list") + f"?state=open&q={unit.serial_number}&page=2"
    client.get(reverse("tickets:home"))
    small = count_queries(client, url)
    page = client.get(url).content.decode()
    assert page.count('class="ticket-row"') == 5
    assert "Ticket-024-end" in page
    assert "Page 2 of 2" in page
    add(50, 25)
    large = count_queries(client, url)
    assert "Page 2 of 4" in client.get(url).content.decode()
    print("\nqueries, list page 2 with filter and search:", small)
    assert large == small


def test_the_list_counts_only_the_customers_matching_tickets(client, terms):
    """Pagination counts the customer's filtered rows (an index range), never the whole table."""
    customer = CustomerFactory()
    unit = UnitFactory(customer=customer)
    for _ in range(PAGE_SIZE + 1):
        TicketFactory(customer=customer, unit=unit)
        TicketFactory()
    client.force_login(customer.user)
    for query in ("", f"?state=closed&q={unit.serial_number}&page=2"):
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("tickets:list") + query).status_code == 200
        counts = [q["sql"] for q in context.captured_queries if "COUNT(" in q["sql"].upper()]
        assert counts, "the paginator counts the matching tickets"
        for sql in counts:
            assert '"tickets_ticket"."customer_id" = ' in sql, sql


def test_a_list_that_fits_on_one_page_is_not_counted(client, terms):
    customer = CustomerFactory()
    unit = UnitFactory(customer=customer)
    TicketFactory.create_batch(PAGE_SIZE, customer=customer, unit=unit)
    client.force_login(customer.user)

    with CaptureQueriesContext(connection) as context:
        page = client.get(reverse("tickets:list"), {"state": "all"}).content.decode()

    assert page.count('class="ticket-row"') == PAGE_SIZE
    assert 'class="pagination"' not in page
    assert not [q for q in context.captured_queries if "COUNT(" in q["sql"].upper()]

    TicketFactory(customer=customer, unit=unit)
    page = client.get(
        reverse("tickets:list"), {"state": "all"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert page.count('class="ticket-row"') == PAGE_SIZE
    assert "Page 1 of 2" in page


def test_visitor_pages_do_not_grow(client, terms):
    customer = CustomerFactory()
    user = customer.user
    reset_url = reverse(
        "customers:password_reset_confirm",
        args=[
            urlsafe_base64_encode(force_bytes(user.pk)),
            default_token_generator.make_token(user),
        ],
    )
    pages = {
        "home": reverse("tickets:home"),
        "terms": reverse("core:terms"),
        "login": reverse("customers:login"),
        "password reset": reverse("customers:password_reset"),
        "password reset sent": reverse("customers:password_reset_done"),
        "password reset complete": reverse("customers:password_reset_complete"),
    }

    def measure():
        client.cookies.clear()  # a visitor without a session, each time
        counts = {name: count_queries(client, url) for name, url in pages.items()}
        # The link from the e-mail redirects to the form under a session token.
        response = client.get(reset_url, follow=True)
        assert response.status_code == 200
        assert 'name="new_password1"' in response.content.decode()
        with CaptureQueriesContext(connection) as context:
            client.get(response.redirect_chain[-1][0])
        counts["password reset, new password"] = len(context.captured_queries)
        return counts

    client.get(reverse("tickets:home"))  # warm the caches (the service calendar)
    before = measure()
    for i in range(50):
        TermsVersionFactory(effective_from=timezone.now() - timedelta(days=100 + i))
        TicketFactory()
    client.get(reverse("tickets:home"))  # the new rows may have reset the calendar's cache
    after = measure()
    print("\nvisitor queries per page:", before)
    assert after == before
