"""Who gets what: every admin and portal URL that matters, as each kind of visitor.

Expected answers:
  200       the page
  LOGIN     302 to the admin's login page      PORTAL    302 to the portal's login page
  GO        302 somewhere else (an action done, or a page that sends you on)
  403 / 404 / 405
  -         not applicable (the admin has no object of that model to open)

Operators and managers are plain staff users in the groups of core.roles, never superusers.
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from core.roles import MANAGERS, OPERATORS
from tests.core.factories import TermsVersionFactory, staff_with_role
from tests.customers.factories import CustomerFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db

LOGIN, PORTAL, GO = "LOGIN", "PORTAL", "GO"
WHO = ("anonymous", "customer", "operator", "manager")

# Admin: model → expected answer of (changelist, add, change), for operator and manager.
# Anonymous visitors and customers are sent to the admin's login page everywhere.
ADMIN_MODELS = {
    #                             operator           manager
    "tickets.ticket": ((200, 403, 200), (200, 403, 200)),
    "tickets.attachment": ((200, 403, 200), (200, 403, 200)),
    "tickets.remoteaccessrequest": ((403, 403, 403), (403, 403, 403)),
    "customers.customer": ((200, 403, 200), (200, 200, 200)),
    "customers.unit": ((200, 403, 200), (200, 200, 200)),
    "products.product": ((200, 403, 200), (200, 200, 200)),
    "core.termsversion": ((403, 403, 403), (200, 200, 200)),
    "customers.user": ((403, 403, 403), (403, 403, 403)),
    "auth.group": ((403, 403, 403), (403, 403, 403)),
    "axes.accessattempt": ((403, 403, 403), (403, 403, 403)),
    "axes.accesslog": ((403, 403, 403), (403, 403, 403)),
    "axes.accessfailurelog": ((403, 403, 403), (403, 403, 403)),
}
# Whole apps that belong to the managers: the service calendar and the e-mail outbox.
ADMIN_APPS = {
    #                   operator           manager
    "schedule": ((403, 403, 403), (200, 200, 200)),
    "notifications": ((403, 403, 403), (200, 403, 200)),
}

# Other admin pages: name → (method, expected for anonymous, customer, operator, manager).
ADMIN_PAGES = {
    "index": ("get", LOGIN, LOGIN, 200, 200),
    "queue": ("get", LOGIN, LOGIN, 200, 200),
    "queue, closed tickets": ("get", LOGIN, LOGIN, 200, 200),
    "take next": ("post", LOGIN, LOGIN, GO, GO),
    "take next by GET": ("get", LOGIN, LOGIN, 405, 405),
    "ticket: take": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: reply": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: internal note": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: status": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: duplicate": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: close": ("post", LOGIN, LOGIN, GO, GO),
    "customers: suspend": ("post", LOGIN, LOGIN, 200, 200),
    "units: report lost": ("post", LOGIN, LOGIN, 200, 200),
    "dashboard": ("get", LOGIN, LOGIN, 403, 200),
}

# Portal: name → (method, expected for anonymous, customer, operator, manager).
PORTAL_PAGES = {
    "home": ("get", 200, 200, 200, 200),
    "tickets list": ("get", PORTAL, 200, 404, 404),
    "ticket create": ("get", PORTAL, 200, 404, 404),
    "ticket detail": ("get", PORTAL, 200, 404, 404),
    "another customer's ticket": ("get", PORTAL, 404, 404, 404),
    "ticket reply": ("post", PORTAL, GO, 404, 404),
    "ticket close": ("post", PORTAL, GO, 404, 404),
    "attachment": ("get", 404, 200, 200, 200),
    "another customer's attachment": ("get", 404, 404, 200, 200),
    "units": ("get", PORTAL, 200, 404, 404),
    "profile": ("get", PORTAL, 200, 404, 404),
    "personal data": ("get", PORTAL, 200, 404, 404),
    "terms": ("get", 200, 200, 200, 200),
    "login": ("get", 200, GO, GO, GO),
    "logout": ("post", GO, GO, GO, GO),
}


@pytest.fixture
def world(db, service_open, _private_media):
    """One customer with a ticket and a file, a second customer, and the two kinds of staff."""
    TermsVersionFactory()
    customer = CustomerFactory()
    ticket = TicketFactory(customer=customer)
    other_ticket = TicketFactory()
    files = {}
    for key, owner_ticket in (("own", ticket), ("other", other_ticket)):
        path = _private_media / f"{key}.log"
        path.write_text("log line")
        files[key] = Attachment.objects.create(
            ticket=owner_ticket,
            uploaded_by=owner_ticket.customer.user,
            kind=Attachment.Kind.LOG,
            file=f"{key}.log",
            original_name=f"{key}.log",
            content_type="text/plain",
            size=8,
        )
    users = {
        "anonymous": None,
        "customer": customer.user,
        "operator": staff_with_role(OPERATORS, "luca"),
        "manager": staff_with_role(MANAGERS, "giulia"),
    }
    return {
        "customer": customer,
        "ticket": ticket,
        "other_ticket": other_ticket,
        "original": TicketFactory(customer=customer),
        "files": files,
        "users": users,
    }


def request_for(world, name):
    """(url, data) of a page of ADMIN_PAGES or PORTAL_PAGES."""
    ticket, files = world["ticket"], world["files"]
    change = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    work = {
        "ticket: take": {"_ticket_action": "take"},
        "ticket: reply": {
            "_ticket_action": "reply",
            "reply-body": "Answer.",
            "reply-visibility": "public",
            "reply-new_status": "answered",
        },
        "ticket: internal note": {
            "_ticket_action": "reply",
            "reply-body": "Note.",
            "reply-visibility": "note",
        },
        "ticket: status": {"_ticket_action": "status", "status-status": "waiting"},
        "ticket: duplicate": {
            "_ticket_action": "duplicate",
            "duplicate-original": str(world["original"].number),
        },
        "ticket: close": {"_ticket_action": "close", "close-body": ""},
    }
    if name in work:
        return change, work[name]
    number = ticket.number
    pages = {
        "index": (reverse("admin:index"), None),
        "queue": (reverse("admin:tickets_ticket_changelist"), None),
        "queue, closed tickets": (
            reverse("admin:tickets_ticket_changelist"),
            {"status": Ticket.Status.CLOSED},
        ),
        "take next": (reverse("admin:tickets_ticket_take_next"), {}),
        "take next by GET": (reverse("admin:tickets_ticket_take_next"), None),
        "customers: suspend": (
            reverse("admin:customers_customer_changelist"),
            {"action": "suspend_customers", "_selected_action": [world["customer"].pk]},
        ),
        "units: report lost": (
            reverse("admin:customers_unit_changelist"),
            {"action": "report_lost_or_stolen", "_selected_action": [ticket.unit_id]},
        ),
        "dashboard": (reverse("tickets_admin:dashboard"), None),
        "home": (reverse("tickets:home"), None),
        "tickets list": (reverse("tickets:list"), None),
        "ticket create": (reverse("tickets:create"), None),
        "ticket detail": (reverse("tickets:detail", args=[number]), None),
        "another customer's ticket": (
            reverse("tickets:detail", args=[world["other_ticket"].number]),
            None,
        ),
        "ticket reply": (reverse("tickets:reply", args=[number]), {"body": "More details."}),
        "ticket close": (reverse("tickets:close", args=[number]), {}),
        "attachment": (reverse("tickets:attachment", args=[files["own"].pk]), None),
        "another customer's attachment": (
            reverse("tickets:attachment", args=[files["other"].pk]),
            None,
        ),
        "units": (reverse("customers:units"), None),
        "profile": (reverse("customers:profile"), None),
        "personal data": (reverse("customers:personal-data"), None),
        "terms": (reverse("core:terms"), None),
        "login": (reverse("customers:login"), None),
        "logout": (reverse("customers:logout"), {}),
    }
    return pages[name]


def answer(response) -> int | str:
    if response.status_code != 302:
        return response.status_code
    location = response["Location"]
    if location.startswith(reverse("admin:login")):
        return LOGIN
    if location.startswith(reverse("customers:login")):
        return PORTAL
    return GO


def visit(client, world, who, method, url, data):
    user = world["users"][who]
    if user is not None:
        client.force_login(user)
    if method == "post":
        return client.post(url, data or {})
    return client.get(url, data or {})


def page_cases(table):
    return [
        pytest.param(name, who, row[0], row[1 + i], id=f"{name} as {who}")
        for name, row in table.items()
        for i, who in enumerate(WHO)
    ]


@pytest.mark.parametrize(("name", "who", "method", "expected"), page_cases(ADMIN_PAGES))
def test_admin_pages(client, world, name, who, method, expected):
    url, data = request_for(world, name)
    assert answer(visit(client, world, who, method, url, data)) == expected


@pytest.mark.parametrize(("name", "who", "method", "expected"), page_cases(PORTAL_PAGES))
def test_portal_pages(client, world, name, who, method, expected):
    url, data = request_for(world, name)
    assert answer(visit(client, world, who, method, url, data)) == expected


def admin_model_expectations(label: str):
    app_label = label.split(".")[0]
    if label in ADMIN_MODELS:
        return ADMIN_MODELS[label]
    if app_label in ADMIN_APPS:
        return ADMIN_APPS[app_label]
    return None


def registered_labels() -> list[str]:
    return sorted(model._meta.label_lower for model in admin.site._registry)


def test_every_registered_model_is_in_the_matrix():
    missing = [label for label in registered_labels() if admin_model_expectations(label) is None]
    assert not missing, f"add these admin models to the permission matrix: {missing}"


def model_cases():
    return [
        pytest.param(label, view, who, id=f"{label} {view} as {who}")
        for label in registered_labels()
        if admin_model_expectations(label) is not None
        for view in ("changelist", "add", "change")
        for who in WHO
    ]


@pytest.mark.parametrize(("label", "view", "who"), model_cases())
def test_admin_model_pages(client, world, label, view, who):
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    opts = model._meta
    if view == "change":
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            pytest.skip(f"no {label} to open")
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    else:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}")
    if who in ("anonymous", "customer"):
        expected = LOGIN
    else:
        by_role = admin_model_expectations(label)[0 if who == "operator" else 1]
        expected = by_role[("changelist", "add", "change").index(view)]

    assert answer(visit(client, world, who, "get", url, None)) == expected
