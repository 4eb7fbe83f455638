"""Who gets what: every admin and portal URL that matters, as each kind of visitor.

Expected answers:
  200       the page
  LOGIN     302 to the admin's login page      PORTAL    302 to the portal's login page
  GO        302 somewhere else (an action done, or a page that sends you on)
  403 / 404 / 405

The `every_model_row` fixture holds one row of every model the admin registers, so no page is
skipped, and two tests walk the URL configuration so that a new URL cannot stay out of the matrix.
Operators and managers are plain staff users in the groups of core.roles, never superusers.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from core.models import AuditEntry
from core.roles import MANAGERS, OPERATORS
from customers.invitations import invitation_token
from customers.models import (
    Customer,
    CustomerImport,
    ErasureRequest,
    Invitation,
    Member,
    PersonalDataExport,
    Unit,
)
from notifications.models import Notification
from notifications.satisfaction import rating_token as rating_token_make
from tests.core.factories import TermsVersionFactory, staff_with_role
from tests.customers.factories import PASSWORD, CustomerFactory, MemberFactory
from tests.notifications.factories import NotificationFactory
from tests.schedule.factories import ClosureFactory, MaintenanceFactory, NoticeFactory
from tests.tickets.factories import TicketFactory
from tickets.inbound.services import inbound_mail_receive
from tickets.models import Attachment, CannedAnswer, InboundMail, ServiceTarget, Ticket
from tickets.remote.services import remote_access_request, remote_access_submit

pytestmark = pytest.mark.django_db

LOGIN, PORTAL, GO = "LOGIN", "PORTAL", "GO"
WHO = ("anonymous", "customer", "operator", "manager")

# Admin: model → expected answer of (changelist, add, change, history, delete), for operator
# and manager. Anonymous visitors and customers are sent to the admin's login page everywhere.
R = (403, 403, 403, 403, 403)  # refused
ADMIN_MODELS = {
    #                             operator                    manager
    "tickets.ticket": ((200, 403, 200, 200, 403), (200, 403, 200, 200, 403)),
    "tickets.attachment": ((200, 403, 200, 200, 403), (200, 403, 200, 200, 403)),
    "tickets.inboundmail": ((200, 403, 200, 200, 403), (200, 403, 200, 200, 403)),
    "tickets.cannedanswer": ((200, 403, 200, 200, 403), (200, 200, 200, 200, 403)),
    "tickets.servicetarget": ((200, 403, 200, 200, 403), (200, 200, 200, 200, 200)),
    "tickets.remoteaccessrequest": (R, R),
    "customers.customer": ((200, 403, 200, 200, 403), (200, 200, 200, 200, 403)),
    "customers.unit": ((200, 403, 200, 200, 403), (200, 200, 200, 200, 403)),
    "products.product": ((200, 403, 200, 200, 403), (200, 200, 200, 200, 403)),
    "core.termsversion": (R, (200, 200, 200, 200, 403)),
    # The audit trail: managers read it (its change page shows the row, nothing to save).
    "core.auditentry": (R, (200, 403, 200, 200, 403)),
    "customers.user": (R, R),
    # Erasure requests (§11): the managers confirm or refuse them (actions); nobody adds or deletes.
    "customers.erasurerequest": (R, (200, 403, 200, 200, 403)),
    # Staff and their two-factor state: the managers' to read (and reset, an action).
    "customers.staffmember": (R, (200, 403, 200, 200, 403)),
    "auth.group": (R, R),
    "axes.accessattempt": (R, R),
    "axes.accesslog": (R, R),
    "axes.accessfailurelog": (R, R),
}
# Whole apps: the service calendar belongs to the managers; the e-mail log is read by operators
# too (read-only: its change page shows the row without a save button) and resent by managers.
ADMIN_APPS = {
    #                   operator                    manager
    "schedule": (R, (200, 200, 200, 200, 200)),
    "notifications": ((200, 403, 200, 200, 403), (200, 403, 200, 200, 403)),
}
MODEL_VIEWS = ("changelist", "add", "change", "history", "delete")
ADMIN_APP_LABELS = ("tickets", "customers", "products", "core", "schedule", "notifications")
ADMIN_APP_LABELS += ("auth", "axes")

# Other admin pages: name → (method, expected for anonymous, customer, operator, manager).
ADMIN_PAGES = {
    "index": ("get", LOGIN, LOGIN, 200, 200),
    "admin login": ("get", 200, 200, GO, GO),
    "admin logout": ("post", GO, GO, GO, GO),
    "admin password change": ("get", LOGIN, LOGIN, 200, 200),
    "admin password changed": ("get", LOGIN, LOGIN, 200, 200),
    "admin autocomplete": ("get", LOGIN, LOGIN, 403, 403),
    "admin javascript catalogue": ("get", LOGIN, LOGIN, 200, 200),
    "admin view on site": ("get", LOGIN, LOGIN, 404, 404),
    "admin unknown page": ("get", LOGIN, LOGIN, 404, 404),
    "app: tickets": ("get", LOGIN, LOGIN, 200, 200),
    "app: customers": ("get", LOGIN, LOGIN, 200, 200),
    "app: products": ("get", LOGIN, LOGIN, 200, 200),
    "app: core": ("get", LOGIN, LOGIN, 404, 200),
    "app: schedule": ("get", LOGIN, LOGIN, 404, 200),
    "app: notifications": ("get", LOGIN, LOGIN, 200, 200),
    "app: auth": ("get", LOGIN, LOGIN, 404, 404),
    "app: axes": ("get", LOGIN, LOGIN, 404, 404),
    "user: password": ("get", LOGIN, LOGIN, 403, 403),
    "queue": ("get", LOGIN, LOGIN, 200, 200),
    "queue, closed tickets": ("get", LOGIN, LOGIN, 200, 200),
    "take next": ("post", LOGIN, LOGIN, GO, GO),
    "ticket search": ("get", LOGIN, LOGIN, 200, 200),
    "take next by GET": ("get", LOGIN, LOGIN, 405, 405),
    "ticket: take": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: reply": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: internal note": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: status": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: duplicate": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: close": ("post", LOGIN, LOGIN, GO, GO),
    "ticket: presence": ("post", LOGIN, LOGIN, 200, 200),
    "ticket: presence by GET": ("get", LOGIN, LOGIN, 405, 405),
    # Operators see the list (view permission) without its actions: nothing is done (ADMIN_EFFECTS).
    "customers: suspend": ("post", LOGIN, LOGIN, 200, GO),
    "customers: reinstate": ("post", LOGIN, LOGIN, 200, GO),
    # The Databank import creates and changes customers: the managers' own.
    "customers: import": ("get", LOGIN, LOGIN, 403, 200),
    "customers: import upload": ("post", LOGIN, LOGIN, 403, GO),
    "customers: import status": ("get", LOGIN, LOGIN, 403, 200),
    "customers: import progress": ("get", LOGIN, LOGIN, 403, 200),
    "units: report lost": ("post", LOGIN, LOGIN, 200, GO),
    "products: latest version": ("post", LOGIN, LOGIN, 403, GO),
    # Operators read the e-mail log; the resend action is not theirs: nothing is done.
    "notifications: resend": ("post", LOGIN, LOGIN, 200, GO),
    "e-mails received: original": ("get", LOGIN, LOGIN, 200, 200),
    "dashboard": ("get", LOGIN, LOGIN, 403, 200),
    "dashboard CSV": ("get", LOGIN, LOGIN, 403, 200),
    "remote access": ("get", LOGIN, LOGIN, 200, 200),
    # Only the operator who took the ticket may ask; the others are sent back with an error.
    "remote access: ask": ("post", LOGIN, LOGIN, GO, GO),
    "remote access: reveal": ("post", LOGIN, LOGIN, 200, 403),
    "remote access: reveal by GET": ("get", LOGIN, LOGIN, GO, GO),
    # Two-factor log-in (STAFF_REQUIRE_2FA is off here): staff without a device are sent to set
    # one up; the reset of another's devices is the managers'.
    "two-factor: verify": ("get", LOGIN, LOGIN, GO, GO),
    "two-factor: set up": ("get", LOGIN, LOGIN, 200, 200),
    "two-factor: recovery codes": ("get", LOGIN, LOGIN, 200, 200),
    "staff: reset two-factor": ("post", LOGIN, LOGIN, 403, GO),
}
# What the writes above leave behind, by who sent them: name → (check, who makes it true).
ADMIN_EFFECTS = {
    "customers: suspend": (
        lambda w: Customer.objects.get(pk=w["customer"].pk).is_suspended,
        {"manager"},
    ),
    "customers: reinstate": (
        lambda w: not Customer.objects.get(pk=w["suspended"].pk).is_suspended,
        {"manager"},
    ),
    # The upload is stored for a worker (the import itself runs once the request commits).
    "customers: import upload": (
        lambda w: CustomerImport.objects.count() == 2,
        {"manager"},
    ),
    "units: report lost": (
        lambda w: Unit.objects.get(pk=w["ticket"].unit_id).is_lost_or_stolen,
        {"manager"},
    ),
    "products: latest version": (
        lambda w: (
            w["ticket"].product.__class__.objects.get(pk=w["ticket"].product_id).latest_version
            == "9.9.9"
        ),
        {"manager"},
    ),
    "remote access: ask": (
        lambda w: w["remote_ticket"].remote_access_requests.count() == 2,
        {"operator"},
    ),
    "staff: reset two-factor": (
        lambda w: AuditEntry.objects.filter(
            object_pk=str(w["users"]["operator"].pk), changes__has_key="two-factor devices"
        ).exists(),
        {"manager"},
    ),
    "notifications: resend": (
        lambda w: (
            Notification.objects.get(pk=w["notification"].pk).status == Notification.Status.PENDING
        ),
        {"manager"},
    ),
}

# Portal: name → (method, expected for anonymous, the workshop's owner (customer), its member who
# sees only the tickets they opened, its member who sees them all, a member of another workshop
# (stranger), operator, manager). "The ticket" is the owner's; "the member's ticket" was opened by
# the member who sees only their own.
PORTAL_WHO = (
    "anonymous",
    "customer",
    "member_own",
    "member_all",
    "stranger",
    "operator",
    "manager",
)
PORTAL_PAGES = {
    #                                                  anon    owner own  all  strgr oper mgr
    "home": ("get", 200, 200, 200, 200, 200, 200, 200),
    "health": ("get", 200, 200, 200, 200, 200, 200, 200),
    "set language": ("post", GO, GO, GO, GO, GO, GO, GO),
    "tickets list": ("get", PORTAL, 200, 200, 200, 200, 404, 404),
    "ticket create": ("get", PORTAL, 200, 200, 200, 200, 404, 404),
    "ticket detail": ("get", PORTAL, 200, 404, 200, 404, 404, 404),
    "the member's ticket": ("get", PORTAL, 200, 200, 200, 404, 404, 404),
    "another customer's ticket": ("get", PORTAL, 404, 404, 404, 404, 404, 404),
    "ticket reply": ("post", PORTAL, GO, 404, GO, 404, 404, 404),
    "the member's ticket: reply": ("post", PORTAL, GO, GO, GO, 404, 404, 404),
    "ticket close": ("post", PORTAL, GO, 404, GO, 404, 404, 404),
    "ticket remote access": ("post", PORTAL, GO, 404, GO, 404, 404, 404),
    "ticket rating": ("post", PORTAL, GO, 404, GO, 404, 404, 404),
    "another customer's ticket rating": ("post", PORTAL, 404, 404, 404, 404, 404, 404),
    # The closing e-mail's signed link works without logging in; an altered one is refused.
    "rating link": ("get", 200, 200, 200, 200, 200, 200, 200),
    "rating link, answered": ("post", GO, GO, GO, GO, GO, GO, GO),
    "rating link, altered": ("post", 400, 400, 400, 400, 400, 400, 400),
    "another customer's remote access": ("post", PORTAL, 404, 404, 404, 404, 404, 404),
    "attachment": ("get", 404, 200, 404, 200, 404, 200, 200),
    "the member's attachment": ("get", 404, 200, 200, 200, 404, 200, 200),
    "another customer's attachment": ("get", 404, 404, 404, 404, 404, 200, 200),
    "thumbnail": ("get", 404, 200, 404, 200, 404, 200, 200),
    "another customer's thumbnail": ("get", 404, 404, 404, 404, 404, 200, 200),
    # The workshop's units are every member's: they open tickets for them.
    "units": ("get", PORTAL, 200, 200, 200, 200, 404, 404),
    "unit: report lost": ("get", PORTAL, 200, 200, 200, 404, 404, 404),
    "another customer's unit: report lost": ("get", PORTAL, 404, 404, 404, 404, 404, 404),
    "profile": ("get", PORTAL, 200, 200, 200, 200, 404, 404),
    # The workshop's people and its personal data are its owner's.
    "people": ("get", PORTAL, 200, 404, 404, 404, 404, 404),
    "people: invite": ("post", PORTAL, GO, 404, 404, 404, 404, 404),
    "people: a member's tickets": ("post", PORTAL, GO, 404, 404, 404, 404, 404),
    "people: send an invitation again": ("post", PORTAL, GO, 404, 404, 404, 404, 404),
    # An invitation's link is for the person invited, logged out; anybody logged in is told so.
    "invitation link": ("get", 200, 409, 409, 409, 409, 409, 409),
    "personal data": ("get", PORTAL, 200, 404, 404, 404, 404, 404),
    "personal data: prepare the archive": ("post", PORTAL, GO, 404, 404, 404, 404, 404),
    "personal data: archive progress": ("get", PORTAL, 200, 404, 404, 404, 404, 404),
    "personal data: download the archive": ("get", PORTAL, 200, 404, 404, 404, 404, 404),
    "another customer's archive": ("get", PORTAL, 404, 404, 404, 404, 404, 404),
    "personal data: ask to erase": ("post", PORTAL, GO, 404, 404, 404, 404, 404),
    "terms": ("get", 200, 200, 200, 200, 200, 200, 200),
    "terms, one version": ("get", 200, 200, 200, 200, 200, 200, 200),
    "calendar feed": ("get", 200, 200, 200, 200, 200, 200, 200),
    "notices feed": ("get", 200, 200, 200, 200, 200, 200, 200),
    "login": ("get", 200, GO, GO, GO, GO, GO, GO),
    "logout": ("post", GO, GO, GO, GO, GO, GO, GO),
    "password reset": ("get", 200, 200, 200, 200, 200, 200, 200),
    "password reset sent": ("get", 200, 200, 200, 200, 200, 200, 200),
    "password reset link": ("get", 200, 200, 200, 200, 200, 200, 200),
    "password reset complete": ("get", 200, 200, 200, 200, 200, 200, 200),
}
# What the portal's writes leave behind, by who sent them: name → (check, who makes it true).
PORTAL_EFFECTS = {
    "ticket reply": (
        lambda w: w["ticket"].events.filter(body="More details.").exists(),
        {"customer", "member_all"},
    ),
    "the member's ticket: reply": (
        lambda w: w["member_ticket"].events.filter(body="More details.").exists(),
        {"customer", "member_own", "member_all"},
    ),
    "people: invite": (
        lambda w: w["customer"].invitations.filter(email="new.colleague@example.com").exists(),
        {"customer"},
    ),
    "people: a member's tickets": (
        lambda w: w["customer"].members.get(pk=w["members"]["member_own"].pk).scope == "all",
        {"customer"},
    ),
}


TV_PASSWORD = "Matrix-secret-7"


@pytest.fixture
def every_model_row(db, service_open, _private_media):
    """A row of every model the admin shows: a customer with tickets, files, a remote-access
    request, an e-mail, calendar entries and log-in records; a second customer; both roles."""
    terms = TermsVersionFactory()
    customer = CustomerFactory()
    operator = staff_with_role(OPERATORS, "luca")
    ServiceTarget.objects.get_or_create(
        product=None, defaults={"first_response_hours": 4, "next_update_hours": 8}
    )
    ticket = TicketFactory(customer=customer)
    other_ticket = TicketFactory()
    files = {}
    for key, owner_ticket in (("own", ticket), ("other", other_ticket)):
        for name in (f"{key}.png", f"{key}-thumb.jpg"):
            (_private_media / name).write_bytes(b"image bytes")
        files[key] = Attachment.objects.create(
            ticket=owner_ticket,
            uploaded_by=owner_ticket.customer.user,
            kind=Attachment.Kind.SCREENSHOT,
            file=f"{key}.png",
            thumbnail=f"{key}-thumb.jpg",
            original_name=f"{key}.png",
            content_type="image/png",
            size=11,
        )
    remote_ticket = TicketFactory(
        customer=customer, status=Ticket.Status.TAKEN, assigned_to=operator, taken_at=timezone.now()
    )
    remote_access = remote_access_request(ticket=remote_ticket, operator=operator)
    remote_access_submit(
        remote_access=remote_access,
        customer=customer,
        teamviewer_id="123456789",
        password=TV_PASSWORD,
        authorisation_confirmed=True,
        backup_confirmed=True,
    )
    notification = NotificationFactory(
        ticket=ticket, status=Notification.Status.FAILED, last_error="550 5.1.1 No such user"
    )
    inbound_mail_receive(
        raw=b"From: someone@example.com\r\nSubject: Hello\r\nMessage-ID: <m1@example.com>\r\n"
        b"\r\nA message that names no ticket.\r\n"
    )
    CannedAnswer.objects.create(name="Cable", text_it="Il cavo.", text_en="The cable.")
    ClosureFactory()
    MaintenanceFactory()
    NoticeFactory()
    login_record = {
        "user_agent": "pytest",
        "ip_address": "192.0.2.1",
        "username": "someone",
        "http_accept": "*/*",
        "path_info": "/account/login/",
    }
    AccessAttempt.objects.create(**login_record, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**login_record)
    AccessFailureLog.objects.create(**login_record)
    users = {
        "anonymous": None,
        "customer": customer.user,
        "operator": operator,
        "manager": staff_with_role(MANAGERS, "giulia"),
    }
    exports = {}
    for key, owner in (("own", customer), ("other", other_ticket.customer)):
        (_private_media / f"{key}.zip").write_bytes(b"PK archive")
        exports[key] = PersonalDataExport.objects.create(
            customer=owner,
            requested_by=owner.user,
            status=PersonalDataExport.Status.READY,
            file=f"{key}.zip",
            ready_at=timezone.now(),
            expires_at=timezone.now() + timedelta(hours=1),
        )
    members = {
        "member_own": MemberFactory(customer=customer, scope=Member.Scope.OWN),
        "member_all": MemberFactory(customer=customer, scope=Member.Scope.ALL),
        # A member of a third workshop, who sees all of theirs.
        "stranger": MemberFactory(scope=Member.Scope.ALL),
    }
    users.update({who: member.user for who, member in members.items()})
    member_ticket = TicketFactory(customer=customer, opened_by=members["member_own"].user)
    (_private_media / "member.log").write_bytes(b"log")
    files["member"] = Attachment.objects.create(
        ticket=member_ticket,
        uploaded_by=members["member_own"].user,
        kind=Attachment.Kind.LOG,
        file="member.log",
        original_name="member.log",
        content_type="text/plain",
        size=3,
    )
    invitation = Invitation.objects.create(
        customer=customer,
        email="invited@example.com",
        invited_by=customer.user,
        expires_at=timezone.now() + timedelta(days=7),
    )
    suspended = CustomerFactory(is_suspended=True, suspension_reason="Counterfeit tool.")
    ErasureRequest.objects.create(customer=suspended, requested_by=suspended.user)
    return {
        "members": members,
        "member_ticket": member_ticket,
        "invitation": invitation,
        "exports": exports,
        "terms": terms,
        "customer": customer,
        "customer_import": CustomerImport.objects.create(
            original_name="export.csv", uploaded_by=users["manager"]
        ),
        "suspended": suspended,
        "ticket": ticket,
        "other_ticket": other_ticket,
        "remote_ticket": remote_ticket,
        "original": TicketFactory(customer=customer),
        "closed_ticket": TicketFactory(
            customer=customer, status=Ticket.Status.CLOSED, closed_at=timezone.now()
        ),
        "other_closed_ticket": TicketFactory(status=Ticket.Status.CLOSED, closed_at=timezone.now()),
        "files": files,
        "notification": notification,
        "users": users,
    }


def request_for(every_model_row, name):
    """(url, data) of a page of ADMIN_PAGES or PORTAL_PAGES."""
    ticket, files = every_model_row["ticket"], every_model_row["files"]
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
            "duplicate-original": str(every_model_row["original"].number),
        },
        "ticket: close": {"_ticket_action": "close", "close-body": ""},
    }
    if name in work:
        return change, work[name]
    number = ticket.number
    member_number = every_model_row["member_ticket"].number
    remote_pk = every_model_row["remote_ticket"].pk
    product = ticket.product
    other_unit = every_model_row["other_ticket"].unit_id
    ticket_type = ContentType.objects.get_for_model(Ticket)
    closed = every_model_row["closed_ticket"].number
    rating_token = rating_token_make(number=closed, score=3)
    altered_token = rating_token[:-1] + ("A" if rating_token[-1] != "A" else "B")
    remote_answer = {
        "confirm_authorisation": "on",
        "confirm_backup": "on",
        "teamviewer_id": "987654321",
        "password": "New-secret-8",
    }
    pages = {
        "index": (reverse("admin:index"), None),
        "admin login": (reverse("admin:login"), None),
        "admin logout": (reverse("admin:logout"), {}),
        "admin password change": (reverse("admin:password_change"), None),
        "admin password changed": (reverse("admin:password_change_done"), None),
        "admin autocomplete": (reverse("admin:autocomplete"), None),
        "admin javascript catalogue": (reverse("admin:jsi18n"), None),
        "admin view on site": (
            reverse("admin:view_on_site", args=[ticket_type.pk, ticket.pk]),
            None,
        ),
        "admin unknown page": (reverse("admin:index") + "no/such/page/", None),
        **{
            f"app: {label}": (reverse("admin:app_list", args=[label]), None)
            for label in ADMIN_APP_LABELS
        },
        "user: password": (
            reverse("admin:auth_user_password_change", args=[every_model_row["customer"].user_id]),
            None,
        ),
        "queue": (reverse("admin:tickets_ticket_changelist"), None),
        "queue, closed tickets": (
            reverse("admin:tickets_ticket_changelist"),
            {"status": Ticket.Status.CLOSED},
        ),
        "take next": (reverse("admin:tickets_ticket_take_next"), {}),
        "ticket search": (reverse("admin:tickets_ticket_search") + "?q=centralina", None),
        "take next by GET": (reverse("admin:tickets_ticket_take_next"), None),
        "ticket: presence": (
            reverse("admin:tickets_ticket_presence", args=[ticket.pk]),
            {"visit": "matrix"},
        ),
        "ticket: presence by GET": (
            reverse("admin:tickets_ticket_presence", args=[ticket.pk]),
            None,
        ),
        "customers: suspend": (
            reverse("admin:customers_customer_changelist"),
            {
                "action": "suspend_customers",
                "_selected_action": [every_model_row["customer"].pk],
                "apply": "1",
                "reason": "Counterfeit software found during a remote session.",
            },
        ),
        "customers: reinstate": (
            reverse("admin:customers_customer_changelist"),
            {
                "action": "reinstate_customers",
                "_selected_action": [every_model_row["suspended"].pk],
            },
        ),
        "customers: import": (reverse("admin:customers_customer_import"), None),
        "customers: import upload": (
            reverse("admin:customers_customer_import"),
            {
                "file": SimpleUploadedFile(
                    "export.csv", b"code,company,email\nMATRIX1,Matrix,matrix1@example.com\n"
                )
            },
        ),
        "customers: import status": (
            reverse(
                "admin:customers_customer_import_status",
                args=[every_model_row["customer_import"].pk],
            ),
            None,
        ),
        "customers: import progress": (
            reverse(
                "admin:customers_customer_import_progress",
                args=[every_model_row["customer_import"].pk],
            ),
            None,
        ),
        "units: report lost": (
            reverse("admin:customers_unit_changelist"),
            {
                "action": "report_lost_or_stolen",
                "_selected_action": [ticket.unit_id],
                "apply": "1",
                "status": "stolen",
                "details": "Stolen from the van.",
            },
        ),
        "notifications: resend": (
            reverse("admin:notifications_notification_changelist"),
            {
                "action": "resend",
                "_selected_action": [every_model_row["notification"].pk],
                "index": 0,
            },
        ),
        "two-factor: verify": (reverse("two_factor:verify"), None),
        "two-factor: set up": (reverse("two_factor:setup"), None),
        "two-factor: recovery codes": (reverse("two_factor:recovery-codes"), None),
        "staff: reset two-factor": (
            reverse("admin:customers_staffmember_changelist"),
            {
                "action": "reset_two_factor",
                "_selected_action": [every_model_row["users"]["operator"].pk],
            },
        ),
        "products: latest version": (
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
        ),
        "dashboard": (reverse("tickets_admin:dashboard"), None),
        "e-mails received: original": (
            reverse(
                "admin:tickets_inboundmail_original",
                args=[InboundMail.objects.values_list("pk", flat=True).get()],
            ),
            None,
        ),
        "dashboard CSV": (reverse("tickets_admin:dashboard-csv"), None),
        "remote access": (reverse("tickets_admin:remote-access", args=[remote_pk]), None),
        "remote access: ask": (reverse("tickets_admin:remote-access", args=[remote_pk]), {}),
        "remote access: reveal": (
            reverse("tickets_admin:remote-access-reveal", args=[remote_pk]),
            {},
        ),
        "remote access: reveal by GET": (
            reverse("tickets_admin:remote-access-reveal", args=[remote_pk]),
            None,
        ),
        "home": (reverse("tickets:home"), None),
        "health": (reverse("health"), None),
        "set language": (reverse("set_language"), {"language": "en", "next": "/"}),
        "tickets list": (reverse("tickets:list"), None),
        "ticket create": (reverse("tickets:create"), None),
        "ticket detail": (reverse("tickets:detail", args=[number]), None),
        "another customer's ticket": (
            reverse("tickets:detail", args=[every_model_row["other_ticket"].number]),
            None,
        ),
        "ticket reply": (reverse("tickets:reply", args=[number]), {"body": "More details."}),
        "the member's ticket": (reverse("tickets:detail", args=[member_number]), None),
        "the member's ticket: reply": (
            reverse("tickets:reply", args=[member_number]),
            {"body": "More details."},
        ),
        "the member's attachment": (reverse("tickets:attachment", args=[files["member"].pk]), None),
        "people": (reverse("customers:team"), None),
        "people: invite": (
            reverse("customers:team"),
            {"email": "new.colleague@example.com", "scope": "own"},
        ),
        "people: a member's tickets": (
            reverse("customers:team-member", args=[every_model_row["members"]["member_own"].pk]),
            {f"{every_model_row['members']['member_own'].pk}-scope": "all"},
        ),
        "people: send an invitation again": (
            reverse("customers:team-invitation", args=[every_model_row["invitation"].pk]),
            {"resend": "1"},
        ),
        "invitation link": (
            reverse(
                "customers:invitation",
                args=[invitation_token(invitation=every_model_row["invitation"])],
            ),
            None,
        ),
        "ticket close": (reverse("tickets:close", args=[number]), {}),
        "ticket remote access": (
            reverse("tickets:remote-access", args=[every_model_row["remote_ticket"].number]),
            remote_answer,
        ),
        "another customer's remote access": (
            reverse("tickets:remote-access", args=[every_model_row["other_ticket"].number]),
            remote_answer,
        ),
        "ticket rating": (reverse("tickets:rating", args=[closed]), {"score": 3}),
        "another customer's ticket rating": (
            reverse("tickets:rating", args=[every_model_row["other_closed_ticket"].number]),
            {"score": 1},
        ),
        "rating link": (reverse("tickets:rating-link", args=[rating_token]), None),
        "rating link, answered": (
            reverse("tickets:rating-link", args=[rating_token]),
            {"score": 2, "comment": "Fine."},
        ),
        "rating link, altered": (
            reverse("tickets:rating-link", args=[altered_token]),
            {"score": 1},
        ),
        "attachment": (reverse("tickets:attachment", args=[files["own"].pk]), None),
        "another customer's attachment": (
            reverse("tickets:attachment", args=[files["other"].pk]),
            None,
        ),
        "thumbnail": (reverse("tickets:attachment-thumbnail", args=[files["own"].pk]), None),
        "another customer's thumbnail": (
            reverse("tickets:attachment-thumbnail", args=[files["other"].pk]),
            None,
        ),
        "units": (reverse("customers:units"), None),
        "unit: report lost": (reverse("customers:unit-report-lost", args=[ticket.unit_id]), None),
        "another customer's unit: report lost": (
            reverse("customers:unit-report-lost", args=[other_unit]),
            None,
        ),
        "profile": (reverse("customers:profile"), None),
        "personal data": (reverse("tickets:personal-data"), None),
        "personal data: prepare the archive": (reverse("tickets:personal-data-export"), {}),
        "personal data: archive progress": (reverse("tickets:personal-data-export-status"), None),
        "personal data: download the archive": (
            reverse("tickets:personal-data-download", args=[every_model_row["exports"]["own"].pk]),
            None,
        ),
        "another customer's archive": (
            reverse(
                "tickets:personal-data-download", args=[every_model_row["exports"]["other"].pk]
            ),
            None,
        ),
        "personal data: ask to erase": (
            reverse("tickets:personal-data-erasure"),
            {"password": PASSWORD},
        ),
        "terms": (reverse("core:terms"), None),
        "terms, one version": (
            reverse("core:terms-version", args=[every_model_row["terms"].version]),
            None,
        ),
        "calendar feed": (reverse("schedule:calendar-feed"), None),
        "notices feed": (reverse("schedule:notices-feed"), None),
        "login": (reverse("customers:login"), None),
        "logout": (reverse("customers:logout"), {}),
        "password reset": (reverse("customers:password_reset"), None),
        "password reset sent": (reverse("customers:password_reset_done"), None),
        "password reset link": (
            reverse("customers:password_reset_confirm", args=["MQ", "set-password"]),
            None,
        ),
        "password reset complete": (reverse("customers:password_reset_complete"), None),
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


def visit(client, every_model_row, who, method, url, data):
    user = every_model_row["users"][who]
    if user is not None:
        client.force_login(user)
    if method == "post":
        return client.post(url, data or {})
    return client.get(url, data or {})


def page_cases(table, who_all=WHO):
    return [
        pytest.param(name, who, row[0], row[1 + i], id=f"{name} as {who}")
        for name, row in table.items()
        for i, who in enumerate(who_all)
    ]


def admin_page_cases():
    """The admin's pages; a member of a workshop is refused them as its owner is."""
    return page_cases(ADMIN_PAGES) + [
        pytest.param(name, "member_all", row[0], row[2], id=f"{name} as member_all")
        for name, row in ADMIN_PAGES.items()
    ]


@pytest.mark.parametrize(("name", "who", "method", "expected"), admin_page_cases())
def test_admin_pages(client, every_model_row, name, who, method, expected):
    url, data = request_for(every_model_row, name)
    assert answer(visit(client, every_model_row, who, method, url, data)) == expected
    if name in ADMIN_EFFECTS:
        happened, by = ADMIN_EFFECTS[name]
        assert happened(every_model_row) == (who in by)


@pytest.mark.parametrize(
    ("name", "who", "method", "expected"), page_cases(PORTAL_PAGES, PORTAL_WHO)
)
def test_portal_pages(client, every_model_row, name, who, method, expected):
    url, data = request_for(every_model_row, name)
    assert answer(visit(client, every_model_row, who, method, url, data)) == expected
    if name in PORTAL_EFFECTS:
        happened, by = PORTAL_EFFECTS[name]
        assert happened(every_model_row) == (who in by)


def test_only_the_assigned_operator_is_shown_the_password(client, every_model_row):
    url, _data = request_for(every_model_row, "remote access: reveal")
    for who in WHO:
        page = visit(client, every_model_row, who, "post", url, {}).content.decode()
        assert (TV_PASSWORD in page) == (who == "operator"), who


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


def _url_names(resolver, namespace=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _url_names(pattern, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}" if pattern.name else None


def _reached(every_model_row) -> set[str]:
    """The URL names the matrix's page requests resolve to."""
    found = set()
    for table in (ADMIN_PAGES, PORTAL_PAGES):
        for page in table:
            url, _data = request_for(every_model_row, page)
            match = resolve(url.split("?")[0])
            found.add(match.view_name)
    return found


def test_every_url_is_in_the_matrix(every_model_row):
    reached = _reached(every_model_row)
    model_names = {
        f"admin:{label.replace('.', '_')}_{view}"
        for label in registered_labels()
        for view in MODEL_VIEWS
    }
    # Unnamed patterns (the admin's catch-all and old-style object URLs) have no name to check.
    names = {name for name in _url_names(get_resolver()) if name}
    missing = sorted(names - reached - model_names)
    assert not missing, f"add these URLs to the permission matrix: {missing}"


def model_cases():
    return [
        pytest.param(label, view, who, id=f"{label} {view} as {who}")
        for label in registered_labels()
        if admin_model_expectations(label) is not None
        for view in MODEL_VIEWS
        for who in (*WHO, "member_all")
    ]


@pytest.mark.parametrize(("label", "view", "who"), model_cases())
def test_admin_model_pages(client, every_model_row, label, view, who):
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}_{view}"
    if view in ("change", "history", "delete"):
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"every_model_row needs a {label}"
        url = reverse(name, args=[obj.pk])
    else:
        url = reverse(name)
    if who in ("anonymous", "customer", "member_all"):
        expected = LOGIN
    else:
        by_role = admin_model_expectations(label)[0 if who == "operator" else 1]
        expected = by_role[MODEL_VIEWS.index(view)]

    assert answer(visit(client, every_model_row, who, "get", url, None)) == expected
