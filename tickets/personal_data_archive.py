"""The archive of a workshop's personal data (terms, §11): what it holds, built by a worker.

Here and not in customers: it reads the tickets, their messages and files, and customers sits
below tickets. The models (PersonalDataExport, ErasureRequest) are the customers app's.
"""

import json
import logging
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import datetime, timedelta

from axes.models import AccessFailureLog, AccessLog
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from customers.models import Customer, ErasureRequest, LoginSession, PersonalDataExport, User
from tickets.models import Attachment, Ticket, TicketRating

logger = logging.getLogger(__name__)

# The archive's progress is saved every this many tickets or files, not on each one.
PROGRESS_EVERY = 20
EXPORT_FORMAT = 1


# Selectors ---------------------------------------------------------------------------------------


def customer_members(*, customer: Customer) -> list[User]:
    """The people who log in, or logged in, for the workshop: its owner, then its members."""
    members = (
        User.objects.filter(membership__customer=customer)
        .select_related("membership")
        .order_by("membership__created_at", "pk")
    )
    return [customer.user, *members]


def personal_data_export_latest(*, customer: Customer) -> PersonalDataExport | None:
    """The customer's newest archive, whatever its state."""
    return PersonalDataExport.objects.filter(customer=customer).order_by("-created_at").first()


def personal_data_export_get_for_customer(*, customer: Customer, pk: int) -> PersonalDataExport:
    """One archive of this customer's; DoesNotExist for anyone else's."""
    return PersonalDataExport.objects.get(customer=customer, pk=pk)


def erasure_request_pending(*, customer: Customer) -> ErasureRequest | None:
    """The customer's erasure request waiting for a manager, if any."""
    return ErasureRequest.objects.filter(
        customer=customer, status=ErasureRequest.Status.PENDING
    ).first()


def login_usernames(members: Iterable[User]) -> set[str]:
    # Axes records what was typed: the customer code or the e-mail address.
    names = set()
    for user in members:
        names.add(user.username)
        if user.email:
            names.add(user.email)
    return names


def login_username_q(names: set[str]) -> Q:
    query = Q(pk__in=[])
    for name in names:
        query |= Q(username__iexact=name)
    return query


# The archive -------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _zip_name(ticket_number: int, original: str, taken: set[str]) -> str:
    safe = get_valid_filename(original.replace("/", "_").replace("\\", "_")).lstrip("._") or "file"
    stem, dot, suffix = safe.rpartition(".")
    if not dot:
        stem, suffix = safe, ""
    name, n = f"files/{ticket_number}/{safe}", 1
    while name in taken:
        n += 1
        name = f"files/{ticket_number}/{stem}-{n}{'.' + suffix if suffix else ''}"
    taken.add(name)
    return name


def _account(customer: Customer) -> dict:
    return {
        "customer_code": customer.code,
        "company": customer.company,
        "contact": customer.contact_name,
        "email": customer.email,
        "phone": customer.phone,
        "language": customer.language,
        "country": customer.country,
        "created_at": _iso(customer.created_at),
        "suspended": customer.is_suspended,
        "suspension_reason": customer.suspension_reason,
    }


def _members(members: list[User]) -> list[dict]:
    rows = []
    for user in members:
        member = getattr(user, "membership", None)
        rows.append(
            {
                "username": user.username,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "role": "member" if member is not None else "owner",
                "tickets_seen": member.scope if member is not None else "all",
                "joined_at": _iso(user.date_joined),
                "removed_at": _iso(member.removed_at) if member is not None else None,
                "last_login": _iso(user.last_login),
                "active": user.is_active,
            }
        )
    return rows


def _invitations(customer: Customer) -> list[dict]:
    return [
        {
            "email": invitation.email,
            "tickets_seen": invitation.scope,
            "status": invitation.status,
            "sent_at": _iso(invitation.created_at),
            "expires_at": _iso(invitation.expires_at),
            "answered_at": _iso(invitation.answered_at),
        }
        for invitation in customer.invitations.order_by("created_at", "pk")
    ]


def _units(customer: Customer) -> list[dict]:
    return [
        {
            "product": unit.product.name,
            "serial_number": unit.serial_number,
            "status": unit.status,
            "status_changed_at": _iso(unit.status_changed_at),
            "loss_details": unit.loss_details,
            "registered_at": _iso(unit.created_at),
        }
        for unit in customer.units.select_related("product").order_by("pk")
    ]


def _login_records(members: list[User]) -> dict:
    names = login_usernames(members)
    who = login_username_q(names)
    record = ("attempt_time", "ip_address", "user_agent")
    return {
        "log_ins": [
            {
                "at": _iso(row.attempt_time),
                "logged_out_at": _iso(row.logout_time),
                "ip_address": row.ip_address,
                "user_agent": row.user_agent,
            }
            for row in AccessLog.objects.filter(who)
            .order_by("attempt_time")
            .only(*record, "logout_time")
        ],
        "failed_log_ins": [
            {
                "at": _iso(row.attempt_time),
                "ip_address": row.ip_address,
                "user_agent": row.user_agent,
                "locked_out": row.locked_out,
            }
            for row in AccessFailureLog.objects.filter(who).order_by("attempt_time")
        ],
        "sessions": [
            {"expires_at": _iso(expire_date)}
            for expire_date in LoginSession.objects.filter(user__in=members)
            .order_by("expire_date")
            .values_list("expire_date", flat=True)
        ],
    }


def _ticket(ticket: Ticket) -> dict:
    return {
        "number": ticket.number,
        "kind": ticket.kind,
        "status": ticket.status,
        "product": ticket.product.name,
        "serial_number": ticket.serial_number,
        "opened_by": ticket.opened_by.email if ticket.opened_by_id else None,
        "subject": ticket.subject,
        "vehicle": ticket.vehicle_description,
        "vehicle_identification": ticket.vehicle_identification,
        "ecu": ticket.ecu_description,
        "ecu_identification": ticket.ecu_identification,
        "software_version": ticket.software_version,
        "description": ticket.description,
        "error_message": ticket.error_message,
        "operations": ticket.operations,
        "language": ticket.language,
        "received_at": _iso(ticket.received_at),
        "closed_at": _iso(ticket.closed_at),
        "terms_version": ticket.terms_version.version,
        "terms_accepted_at": _iso(ticket.terms_accepted_at),
        # Only what the customer was shown: staff's internal notes are not its messages.
        "messages": [
            {
                "at": _iso(event.created_at),
                "kind": event.kind,
                "from": "support" if event.author_id and event.author.is_staff else "customer",
                "text": event.body,
            }
            for event in ticket.events.all()
            if event.is_public
        ],
        "files": [],
        "rating": _rating(ticket),
    }


def _rating(ticket: Ticket) -> dict | None:
    """The customer's answer to "How did we do?", if it gave one."""
    try:
        rating = ticket.rating
    except TicketRating.DoesNotExist:
        return None
    return {
        "score": rating.get_score_display(),
        "comment": rating.comment,
        "rated_at": _iso(rating.rated_at),
    }


def personal_data_export_build(*, export_id: int, at: datetime | None = None) -> PersonalDataExport:
    """Write the workshop's ZIP (data.json and its files), saving the progress as it goes."""
    updated = PersonalDataExport.objects.filter(
        pk=export_id, status=PersonalDataExport.Status.PENDING
    ).update(status=PersonalDataExport.Status.RUNNING, updated_at=timezone.now())
    export = PersonalDataExport.objects.select_related("customer__user").get(pk=export_id)
    if not updated:
        return export  # already built, or taken by another worker
    try:
        _export_write(export)
    except Exception:
        logger.exception("Personal data export %s failed", export_id)
        PersonalDataExport.objects.filter(pk=export_id).update(
            status=PersonalDataExport.Status.FAILED
        )
        raise
    now = at or timezone.now()
    export.status = PersonalDataExport.Status.READY
    export.ready_at = now
    export.expires_at = now + timedelta(hours=settings.PERSONAL_DATA_EXPORT_HOURS)
    export.done = export.total
    export.save(update_fields=["status", "ready_at", "expires_at", "done", "file", "size"])
    return export


def _export_write(export: PersonalDataExport) -> None:
    customer = export.customer
    members = customer_members(customer=customer)
    tickets = Ticket.objects.filter(customer=customer)
    files = Attachment.objects.filter(ticket__customer=customer)
    total = tickets.count() + files.count()
    PersonalDataExport.objects.filter(pk=export.pk).update(total=total, done=0)
    export.total, done = total, 0

    def advance(n: int = 1) -> None:
        nonlocal done
        done += n
        if done % PROGRESS_EVERY == 0:
            PersonalDataExport.objects.filter(pk=export.pk).update(done=min(done, total))

    data = {
        "format": EXPORT_FORMAT,
        "generated_at": _iso(timezone.now()),
        "account": _account(customer),
        "members": _members(members),
        "invitations": _invitations(customer),
        "units": _units(customer),
        "tickets": [],
        "login_records": _login_records(members),
        "consents": [],
    }
    taken: set[str] = set()
    with tempfile.TemporaryFile() as temporary:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            rows = (
                tickets.select_related("product", "terms_version", "rating", "opened_by")
                .prefetch_related("events__author", "attachments")
                .order_by("number")
            )
            for ticket in rows.iterator(chunk_size=100):
                entry = _ticket(ticket)
                data["consents"].append(
                    {
                        "ticket": ticket.number,
                        "terms_version": ticket.terms_version.version,
                        "accepted_at": _iso(ticket.terms_accepted_at),
                    }
                )
                advance()
                for attachment in ticket.attachments.all():
                    name = _zip_name(ticket.number, attachment.original_name, taken)
                    try:
                        with (
                            attachment.file.open("rb") as source,
                            archive.open(name, "w", force_zip64=True) as target,
                        ):
                            for chunk in iter(lambda s=source: s.read(1024 * 1024), b""):
                                target.write(chunk)
                    except FileNotFoundError:
                        logger.warning("Attachment %s has no file to export", attachment.pk)
                        name = None
                    entry["files"].append(
                        {
                            "name": attachment.original_name,
                            "in_archive": name,
                            "kind": attachment.kind,
                            "content_type": attachment.content_type,
                            "size": attachment.size,
                            "uploaded_at": _iso(attachment.created_at),
                        }
                    )
                    advance()
                data["tickets"].append(entry)
            archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        temporary.seek(0, 2)
        export.size = temporary.tell()
        temporary.seek(0)
        export.file.save("personal-data.zip", File(temporary), save=False)


def personal_data_exports_sweep(*, at: datetime | None = None) -> int:
    """Delete the archives past their time limit, each file before its row is marked expired."""
    now = at or timezone.now()
    expired = 0
    for export in PersonalDataExport.objects.filter(
        status=PersonalDataExport.Status.READY, expires_at__lte=now
    ).only("pk", "file"):
        if export.file.name:
            default_storage.delete(export.file.name)
        PersonalDataExport.objects.filter(pk=export.pk).update(
            status=PersonalDataExport.Status.EXPIRED, file="", updated_at=now
        )
        expired += 1
    return expired
