"""The audit trail (django-auditlog): who did what through the admin, when, from which address."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry
from core.roles import MANAGERS
from customers.models import Customer
from products.models import Product
from schedule.models import Closure
from tests.core.factories import TermsVersionFactory, staff_with_role
from tests.customers.factories import CustomerFactory
from tests.tickets.factories import TicketFactory
from tickets.models import RemoteAccessReveal, Ticket
from tickets.remote.services import remote_access_request, remote_access_submit

pytestmark = pytest.mark.django_db

AUDIT = reverse("admin:core_auditentry_changelist")
# nginx appends the peer it saw; whatever the client wrote to the left of it is not trusted.
FORWARDED = {"HTTP_X_FORWARDED_FOR": "203.0.113.66, 198.51.100.7", "REMOTE_ADDR": "10.0.0.2"}
CLIENT_ADDRESS = "198.51.100.7"


@pytest.fixture(autouse=True)
def _behind_one_proxy(settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1


def entries_for(model, pk=None):
    entries = AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(model))
    if pk is not None:
        entries = entries.filter(object_pk=str(pk))
    return entries.select_related("actor").order_by("-timestamp", "-pk")


def test_a_manager_suspending_a_customer_is_recorded_with_address_and_changes(
    manager_client, manager
):
    customer = CustomerFactory()
    response = manager_client.post(
        reverse("admin:customers_customer_changelist"),
        {
            "action": "suspend_customers",
            "_selected_action": [customer.pk],
            "apply": "1",
            "reason": "Counterfeit software found.",
        },
        **FORWARDED,
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).is_suspended

    entry = entries_for(Customer, customer.pk).first()
    assert entry.action == AuditEntry.Action.UPDATE
    assert entry.actor == manager
    assert entry.remote_addr == CLIENT_ADDRESS
    assert entry.changes_dict["is_suspended"] == ["False", "True"]
    assert entry.changes_dict["suspension_reason"][1] == "Counterfeit software found."
    # Fields outside the suspension are not part of the trail.
    assert set(entry.changes_dict) <= {"is_suspended", "suspension_reason", "suspended_at"}

    page = manager_client.get(AUDIT).content.decode()
    assert "Counterfeit software found." in page
    assert CLIENT_ADDRESS in page
    assert "203.0.113.66" not in page


def test_a_calendar_change_is_recorded(manager_client, manager, django_capture_on_commit_callbacks):
    first = timezone.localdate() + timedelta(days=20)
    data = {
        "first_day": first.isoformat(),
        "last_day": (first + timedelta(days=1)).isoformat(),
        "recurs_yearly": "",
        "title_it": "Inventario",
        "title_en": "Stocktaking",
        "title_fr": "Inventaire",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("admin:schedule_closure_add"), data, **FORWARDED)
    assert response.status_code == 302
    closure = Closure.objects.get()

    entry = entries_for(Closure, closure.pk).get()
    assert entry.action == AuditEntry.Action.CREATE
    assert (entry.actor, entry.remote_addr) == (manager, CLIENT_ADDRESS)
    assert entry.changes_dict["title_en"] == ["None", "Stocktaking"]
    assert not {"notice", "created_at", "updated_at"} & set(entry.changes_dict)


def test_a_product_latest_version_change_is_recorded(manager_client, manager):
    product = TicketFactory().product
    old = product.latest_version
    response = manager_client.post(
        reverse("admin:products_product_change", args=[product.pk]),
        {
            "name": product.name,
            "code": product.code,
            "family": product.family,
            "role": product.role,
            "has_serial_number": "on" if product.has_serial_number else "",
            "latest_version": "9.9.9",
            "manuals_url": product.manuals_url,
            "is_active": "on",
            "position": product.position,
        },
        **FORWARDED,
    )
    assert response.status_code == 302
    entry = entries_for(Product, product.pk).first()
    assert entry.changes_dict == {"latest_version": [old or "", "9.9.9"]}
    assert (entry.actor, entry.remote_addr) == (manager, CLIENT_ADDRESS)


def test_publishing_terms_is_recorded(manager_client, manager):
    TermsVersionFactory(version="2024-01")
    response = manager_client.post(
        reverse("admin:core_termsversion_add"),
        {
            "version": "2025-06",
            "text_it": "Termini nuovi.",
            "text_en": "New terms.",
            "text_fr": "",
            "effective_from_0": "",
            "effective_from_1": "",
        },
        **FORWARDED,
    )
    assert response.status_code == 302
    terms_type = ContentType.objects.get(app_label="core", model="termsversion")
    entry = AuditEntry.objects.get(content_type=terms_type, object_repr="2025-06")
    assert entry.action == AuditEntry.Action.CREATE
    assert (entry.actor, entry.remote_addr) == (manager, CLIENT_ADDRESS)
    assert entry.changes_dict["text_it"] == ["None", "Termini nuovi."]
    # Neither the time stamps nor the tickets that accepted a version are changes of it.
    assert not {"tickets", "created_at", "updated_at"} & set(entry.changes_dict)


def test_a_teamviewer_reveal_is_recorded(client, operator, service_open):
    ticket = TicketFactory(
        status=Ticket.Status.TAKEN, assigned_to=operator, taken_at=timezone.now()
    )
    remote_access = remote_access_request(ticket=ticket, operator=operator)
    remote_access_submit(
        remote_access=remote_access,
        customer=ticket.customer,
        teamviewer_id="123456789",
        password="Audit-secret-7",
        authorisation_confirmed=True,
        backup_confirmed=True,
    )
    client.force_login(operator)
    response = client.post(
        reverse("tickets_admin:remote-access-reveal", args=[ticket.pk]), {}, **FORWARDED
    )
    assert response.status_code == 200
    reveal = RemoteAccessReveal.objects.get()

    entry = entries_for(RemoteAccessReveal, reveal.pk).get()
    assert (entry.actor, entry.remote_addr) == (operator, CLIENT_ADDRESS)
    assert entry.action == AuditEntry.Action.CREATE
    # The trail names the request and the operator, never the secret.
    assert "Audit-secret-7" not in str(entry.changes) + entry.object_repr
    assert "123456789" not in str(entry.changes) + entry.object_repr


def test_the_trail_is_filterable_by_who_kind_action_and_date(manager_client, manager):
    other_manager = staff_with_role(MANAGERS, "marta")
    other_client = Client()
    other_client.force_login(other_manager)
    suspended = CustomerFactory(code="AUDIT-1")
    for who, target in ((manager_client, suspended),):
        who.post(
            reverse("admin:customers_customer_changelist"),
            {
                "action": "suspend_customers",
                "_selected_action": [target.pk],
                "apply": "1",
                "reason": "Filtered reason.",
            },
        )
    TermsVersionFactory(version="2024-01")
    other_client.post(
        reverse("admin:core_termsversion_add"),
        {"version": "2099-01", "text_it": "Termini.", "text_en": "", "text_fr": ""},
    )

    by_manager = manager_client.get(AUDIT, {"actor": manager.pk}).content.decode()
    assert "Filtered reason." in by_manager
    assert "2099-01" not in by_manager
    by_other = manager_client.get(AUDIT, {"actor": other_manager.pk}).content.decode()
    assert "2099-01" in by_other
    assert "Filtered reason." not in by_other

    customer_type = ContentType.objects.get_for_model(Customer)
    by_kind = manager_client.get(AUDIT, {"content_type": customer_type.pk}).content.decode()
    assert "Filtered reason." in by_kind
    assert "2099-01" not in by_kind

    updates = manager_client.get(AUDIT, {"action__exact": AuditEntry.Action.UPDATE})
    assert "Filtered reason." in updates.content.decode()
    assert "2099-01" not in updates.content.decode()

    # The date filter's own "today" link, and a window that ended yesterday.
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    dated = {"timestamp__gte": str(today), "timestamp__lt": str(today + timedelta(days=1))}
    assert "Filtered reason." in manager_client.get(AUDIT, dated).content.decode()
    past = {"timestamp__lt": str(today - timedelta(days=1))}
    assert "Filtered reason." not in manager_client.get(AUDIT, past).content.decode()


def test_nobody_can_add_change_or_delete_an_entry(manager_client, admin_client):
    customer = CustomerFactory()
    manager_client.post(
        reverse("admin:customers_customer_changelist"),
        {
            "action": "suspend_customers",
            "_selected_action": [customer.pk],
            "apply": "1",
            "reason": "Kept forever.",
        },
    )
    entry = entries_for(Customer, customer.pk).first()
    change = reverse("admin:core_auditentry_change", args=[entry.pk])
    delete = reverse("admin:core_auditentry_delete", args=[entry.pk])
    for staff_client in (manager_client, admin_client):  # a superuser included
        assert staff_client.get(reverse("admin:core_auditentry_add")).status_code == 403
        page = staff_client.get(change)
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert staff_client.post(change, {"action": "0"}).status_code == 403
        assert staff_client.post(delete, {"post": "yes"}).status_code == 403
        listing = staff_client.get(AUDIT).content.decode()
        assert 'name="action"' not in listing  # no bulk action, the bulk delete included
        # auditlog's own admin of the same rows is not reachable.
        assert staff_client.get("/admin/auditlog/logentry/").status_code == 404
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_operators_cannot_read_the_trail(operator_client):
    assert operator_client.get(AUDIT).status_code == 403


def suspend_many(manager_client, count):
    customers = CustomerFactory.create_batch(count)
    manager_client.post(
        reverse("admin:customers_customer_changelist"),
        {
            "action": "suspend_customers",
            "_selected_action": [customer.pk for customer in customers],
            "apply": "1",
            "reason": "Batch.",
        },
    )


def test_the_list_makes_the_same_few_queries_whatever_it_holds(
    manager_client, django_assert_num_queries
):
    suspend_many(manager_client, 2)
    manager_client.get(AUDIT)  # the content types' cache, as in a running process
    with django_assert_num_queries(6) as few:
        assert manager_client.get(AUDIT).status_code == 200
    # The next request empties the connection's log of queries: keep them now.
    statements = [query["sql"].upper() for query in few.captured_queries]
    suspend_many(manager_client, 30)
    with django_assert_num_queries(6):
        page = manager_client.get(AUDIT)
    # Each customer's creation and suspension: 64 rows on the page of 100.
    assert len(page.context["cl"].result_list) == 2 * 32
    # The paginator looks one row past the page, never counts the table; no filter reads the log.
    for sql in statements:
        assert "DISTINCT" not in sql
        assert "COUNT(" not in sql or "LIMIT" in sql, sql
