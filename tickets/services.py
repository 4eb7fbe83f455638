"""Writes of the tickets app: open, answer, take, change the status of and close a ticket."""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import TermsVersion
from core.selectors import terms_current
from customers.models import Customer, Unit
from customers.selectors import customer_access
from products.models import Product
from tickets.attachments import (
    NewFiles,
    attachment_count_check,
    attachments_attach,
    attachments_discard,
    attachments_store,
)
from tickets.collisions import seen_check
from tickets.models import Attachment, RemoteAccessRequest, Ticket, TicketCounter, TicketEvent
from tickets.recording import customer_write_check, event_record, status_set, update_record
from tickets.remote.services import remote_access_erase_for_ticket
from tickets.selectors import ticket_is_visible, ticket_scope

COUNTER_NAME = "ticket"

logger = logging.getLogger(__name__)


# Customers' writes ------------------------------------------------------------------------------


def _customer_side_check(*, ticket: Ticket, customer: Customer, user) -> None:
    """Refuse a write on a ticket by someone who does not see it (selectors.ticket_scope)."""
    if ticket.customer_id != customer.pk or not ticket_is_visible(ticket=ticket, user=user):
        raise PermissionDenied


def _workshop_person_check(*, customer: Customer, user) -> None:
    """Refuse a ticket opened for a workshop by someone who is not its owner or member."""
    access = customer_access(user)
    if access is None or access.customer.pk != customer.pk:
        raise PermissionDenied


def ticket_open_list_for_unit(*, unit: Unit, user):
    """The unit's open tickets the user sees (the one-ticket-per-problem guard shows them)."""
    return (
        ticket_scope(user=user)
        .filter(unit=unit, status__in=Ticket.OPEN_STATUSES)
        .only("pk", "number", "subject", "status", "received_at")
        .order_by("received_at")
    )


def ticket_create(
    *,
    customer: Customer,
    product: Product,
    unit: Unit | None,
    kind: str,
    language: str,
    subject: str,
    description: str,
    terms_version: TermsVersion,
    vehicle_description: str = "",
    vehicle_identification: str = "",
    ecu_description: str = "",
    ecu_identification: str = "",
    software_version: str = "",
    error_message: str = "",
    operations: str = "",
    files: NewFiles = (),
    staged: Sequence[Attachment] = (),
    confirmed_new_problem: bool = False,
    opened_by=None,
    at: datetime | None = None,
) -> Ticket:
    """Open a ticket: check the rules, store files, then number and save it in one transaction.

    `opened_by` is the person of the workshop opening it, its owner (the default) or a member.
    """
    opened_by = opened_by or customer.user
    _workshop_person_check(customer=customer, user=opened_by)
    customer_write_check(customer=customer, at=at)
    errors: dict[str, list[str]] = {}
    if unit is not None:
        if unit.customer_id != customer.pk:
            raise PermissionDenied(_("This unit is not yours."))
        product = unit.product
        if unit.is_lost_or_stolen and kind != Ticket.Kind.LOSS_REPORT:
            errors.setdefault("unit", []).append(
                _("This unit was reported lost or stolen: it only accepts that report.")
            )
    elif product.has_serial_number:
        errors.setdefault("unit", []).append(_("Choose the unit (serial number) concerned."))
    if kind == Ticket.Kind.PROBLEM:
        if not (vehicle_description.strip() or ecu_description.strip()):
            errors.setdefault("vehicle_description", []).append(
                _("Describe the vehicle or the ECU you are working on.")
            )
        has_screenshot = any(k == Attachment.Kind.SCREENSHOT for k, _f in files) or any(
            a.kind == Attachment.Kind.SCREENSHOT for a in staged
        )
        if not has_screenshot and not error_message.strip():
            errors.setdefault("error_message", []).append(
                _("Attach a screenshot of the error or, failing that, copy the error message.")
            )
    current = terms_current(at=at)
    if current is None or terms_version.pk != current.pk:
        errors.setdefault("accept_terms", []).append(
            _("The terms have changed: read and accept the current version.")
        )
    if (
        unit is not None
        and not confirmed_new_problem
        and ticket_open_list_for_unit(unit=unit, user=opened_by)
    ):
        errors.setdefault("confirm_new_problem", []).append(
            _("This unit already has open tickets: confirm that this is a new problem.")
        )
    for attachment in staged:
        if attachment.ticket_id is not None or attachment.uploaded_by_id != opened_by.pk:
            raise PermissionDenied(_("This file is not yours."))
    attachment_count_check(adding=len(files) + len(staged))
    if errors:
        raise ValidationError(errors)

    stored = attachments_store(user=opened_by, files=files)
    now = at or timezone.now()
    try:
        with transaction.atomic():
            counter, _created = TicketCounter.objects.select_for_update().get_or_create(
                name=COUNTER_NAME
            )
            counter.last_number += 1
            counter.save(update_fields=["last_number"])
            ticket = Ticket.objects.create(
                number=counter.last_number,
                customer=customer,
                opened_by=opened_by,
                product=product,
                unit=unit,
                serial_number=unit.serial_number if unit else "",
                kind=kind,
                language=language,
                subject=subject.strip(),
                description=description.strip(),
                vehicle_description=vehicle_description.strip(),
                vehicle_identification=vehicle_identification.strip(),
                ecu_description=ecu_description.strip(),
                ecu_identification=ecu_identification.strip(),
                software_version=software_version.strip(),
                software_outdated=product.is_version_outdated(software_version),
                error_message=error_message.strip(),
                operations=operations.strip(),
                terms_version=terms_version,
                terms_accepted_at=now,
                received_at=now,
            )
            event = event_record(
                ticket=ticket, kind=TicketEvent.Kind.SUBMITTED, author=opened_by, at=now
            )
            attachments_attach(ticket=ticket, event=event, new=stored, staged=staged)
            update_record(ticket=ticket, recorded=[event])
    except Exception:
        attachments_discard(stored)
        raise
    return ticket


def ticket_reply_customer(
    *,
    ticket: Ticket,
    customer: Customer,
    body: str,
    files: NewFiles = (),
    staged: Sequence[Attachment] = (),
    seen: str | None = None,
    author=None,
    at: datetime | None = None,
) -> TicketEvent:
    """Add the customer's message; an answered ticket goes back to its operator.

    `author` is the person of the workshop writing, its owner (the default) or a member who
    sees the ticket. `seen` is the marker of the page they wrote on (tickets.collisions): the
    message is refused if the ticket showed them something new since.
    """
    author = author or customer.user
    customer_write_check(customer=customer, at=at)
    _customer_side_check(ticket=ticket, customer=customer, user=author)
    return _message_add(
        ticket=ticket,
        author=author,
        body=body,
        files=files,
        staged=staged,
        is_public=True,
        from_customer=True,
        seen=seen,
        at=at,
    )


def _message_check(*, body: str, files: NewFiles, staged: Sequence[Attachment]) -> None:
    """Refuse a message with neither text nor file."""
    if not body.strip() and not files and not staged:
        raise ValidationError({"body": [_("Write a message or attach a file.")]})


def _message_add(
    *,
    ticket: Ticket,
    author,
    body: str,
    files: NewFiles,
    staged: Sequence[Attachment],
    is_public: bool,
    from_customer: bool,
    new_status: str | None = None,
    seen: str | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    body = body.strip()
    _message_check(body=body, files=files, staged=staged)
    if not ticket.is_open:
        raise ValidationError(_("This ticket is closed: open a new one for a new problem."))
    attachment_count_check(adding=len(files) + len(staged))
    stored = attachments_store(user=author, files=files)
    try:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
            if not ticket.is_open:
                raise ValidationError(_("This ticket is closed: open a new one for a new problem."))
            seen_check(ticket=ticket, seen=seen, staff=not from_customer)
            if not is_public:
                kind = TicketEvent.Kind.NOTE
            else:
                kind = TicketEvent.Kind.MESSAGE if body else TicketEvent.Kind.ATTACHMENT
            event = event_record(
                ticket=ticket, kind=kind, author=author, body=body, is_public=is_public, at=at
            )
            attachments_attach(ticket=ticket, event=event, new=stored, staged=staged)
            recorded = [event]
            fields = ["updated_at"]
            if from_customer:
                if ticket.status in (Ticket.Status.ANSWERED, Ticket.Status.WAITING_CUSTOMER):
                    target = Ticket.Status.TAKEN if ticket.assigned_to_id else Ticket.Status.NEW
                    reopening = ticket.status == Ticket.Status.ANSWERED
                    status_kind = (
                        TicketEvent.Kind.REOPENED if reopening else TicketEvent.Kind.STATUS
                    )
                    recorded.append(
                        status_set(
                            ticket=ticket, status=target, author=author, kind=status_kind, at=at
                        )
                    )
                    fields.append("status")
            elif is_public:
                if ticket.first_response_at is None:
                    ticket.first_response_at = event.created_at
                    fields.append("first_response_at")
                if new_status and new_status != ticket.status:
                    recorded.append(
                        status_set(ticket=ticket, status=new_status, author=author, at=at)
                    )
                    fields.append("status")
            ticket.save(update_fields=fields)
            update_record(ticket=ticket, recorded=recorded)
    except Exception:
        attachments_discard(stored)
        raise
    return event


# Staff's writes (the admin calls these; the calendar binds customers, not staff) ----------------


def ticket_take(*, ticket: Ticket, operator, at: datetime | None = None) -> Ticket:
    """Assign a ticket to an operator and mark it taken in charge."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise ValidationError(_("This ticket is closed."))
        if ticket.assigned_to_id == operator.pk:
            return ticket
        ticket.assigned_to = operator
        ticket.taken_at = at or timezone.now()
        old = ticket.status
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.TAKEN
        event = event_record(
            ticket=ticket,
            kind=TicketEvent.Kind.ASSIGNED,
            author=operator,
            old_status=old,
            new_status=ticket.status,
            at=ticket.taken_at,
        )
        ticket.save(update_fields=["assigned_to", "taken_at", "status", "updated_at"])
        update_record(ticket=ticket, recorded=[event])
    return ticket


def ticket_take_next(*, operator, at: datetime | None = None) -> Ticket | None:
    """Give the operator the oldest unassigned ticket; concurrent callers get different ones."""
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(skip_locked=True)
            .filter(status=Ticket.Status.NEW, assigned_to__isnull=True)
            .order_by("received_at", "number")
            .first()
        )
        if ticket is None:
            return None
        return ticket_take(ticket=ticket, operator=operator, at=at)


def _check_operator_status(*, status: str, field: str) -> None:
    """Refuse a status an operator cannot set by hand: unknown, or closed (see ticket_close)."""
    if status in Ticket.OPEN_STATUSES:
        return
    if status == Ticket.Status.CLOSED:
        message = _("A ticket is closed with its own action, not by a change of status.")
    else:
        message = _("“%(status)s” is not a status an operator can set.") % {"status": status[:20]}
    raise ValidationError({field: ValidationError(message, code="status")})


def ticket_reply_staff(
    *,
    ticket: Ticket,
    operator,
    body: str,
    is_public: bool = True,
    new_status: str | None = Ticket.Status.ANSWERED,
    files: NewFiles = (),
    seen: str | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """Add an operator's public answer (by default the ticket becomes answered) or internal note.

    `seen` is the marker of the page the operator wrote on (tickets.collisions): the reply is
    refused if the ticket changed since, before the implicit take can change it again.
    """
    if new_status:
        _check_operator_status(status=new_status, field="new_status")
    _message_check(body=body, files=files, staged=())
    with transaction.atomic():
        if seen is not None:
            ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
            if ticket.is_open:
                seen_check(ticket=ticket, seen=seen, staff=True)
        if ticket.assigned_to_id is None and is_public:
            ticket = ticket_take(ticket=ticket, operator=operator, at=at)
        return _message_add(
            ticket=ticket,
            author=operator,
            body=body,
            files=files,
            staged=(),
            is_public=is_public,
            from_customer=False,
            new_status=new_status if is_public else None,
            at=at,
        )


def ticket_status_change(
    *, ticket: Ticket, operator, status: str, seen: str | None = None, at: datetime | None = None
) -> Ticket:
    """Move an open ticket to another open status (refused if it changed since `seen`)."""
    _check_operator_status(status=status, field="status")
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise ValidationError(_("This ticket is closed."))
        seen_check(ticket=ticket, seen=seen, staff=True)
        if status != Ticket.Status.NEW and ticket.assigned_to_id is None:
            ticket.assigned_to = operator
            ticket.taken_at = at or timezone.now()
        event = status_set(ticket=ticket, status=status, author=operator, at=at)
        ticket.save(update_fields=["status", "assigned_to", "taken_at", "updated_at"])
        update_record(ticket=ticket, recorded=[event] if event else [])
    return ticket


def _ticket_close(
    *,
    ticket: Ticket,
    author,
    kind: str,
    body: str = "",
    duplicate_of: Ticket | None = None,
    seen: str | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Close an open ticket with one event, and wipe its remote-access secrets (terms §6)."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise ValidationError(_("This ticket is already closed."))
        seen_check(ticket=ticket, seen=seen, staff=True)
        old = ticket.status
        fields = ["status", "closed_at", "updated_at"]
        if duplicate_of is not None:
            ticket.duplicate_of = duplicate_of
            fields.append("duplicate_of")
        ticket.status = Ticket.Status.CLOSED
        ticket.closed_at = at or timezone.now()
        event = event_record(
            ticket=ticket,
            kind=kind,
            author=author,
            body=body,
            old_status=old,
            new_status=ticket.status,
            at=ticket.closed_at,
        )
        ticket.save(update_fields=fields)
        remote_access_erase_for_ticket(ticket=ticket, reason=RemoteAccessRequest.EraseReason.CLOSED)
        update_record(ticket=ticket, recorded=[event])
    return ticket


def ticket_close(
    *, ticket: Ticket, user, body: str = "", seen: str | None = None, at: datetime | None = None
) -> Ticket:
    """Close a ticket, by its customer or by an operator (refused if it changed since `seen`)."""
    return _ticket_close(
        ticket=ticket,
        author=user,
        kind=TicketEvent.Kind.CLOSED,
        body=body.strip(),
        seen=seen,
        at=at,
    )


def ticket_close_by_customer(
    *, ticket: Ticket, customer: Customer, by=None, at: datetime | None = None
) -> Ticket:
    """Close a ticket one sees; allowed whatever the calendar says: it asks nothing of staff."""
    by = by or customer.user
    _customer_side_check(ticket=ticket, customer=customer, user=by)
    return ticket_close(ticket=ticket, user=by, at=at)


def ticket_mark_duplicate(
    *,
    ticket: Ticket,
    original: Ticket,
    operator,
    seen: str | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Close a ticket as a duplicate of another one, which survives."""
    if original.pk == ticket.pk:
        raise ValidationError(_("A ticket cannot duplicate itself."))
    if original.customer_id != ticket.customer_id:
        raise ValidationError(_("The surviving ticket must belong to the same customer."))
    if original.duplicate_of_id == ticket.pk:
        raise ValidationError(_("That ticket is already a duplicate of this one."))
    return _ticket_close(
        ticket=ticket,
        author=operator,
        kind=TicketEvent.Kind.DUPLICATE,
        body=_("Duplicate of ticket #%(number)s.") % {"number": original.number},
        duplicate_of=original,
        seen=seen,
        at=at,
    )


# Staff's search ---------------------------------------------------------------------------------


def ticket_search_rebuild(
    *, batch_size: int = 5_000, progress: Callable[[int, int], None] | None = None
) -> int:
    """Rewrite every ticket's search row on PostgreSQL, committing one batch of ids at a time.

    The triggers of migration 0014 keep the rows current; this is the backfill of a big
    database (the migration leaves it above 200,000 tickets) and the repair after a bulk load
    made with the triggers disabled. It runs while the site is up: each batch is a short
    transaction, and a ticket written meanwhile is rewritten by its trigger anyway.
    """
    if connection.vendor != "postgresql":
        return 0
    bounds = Ticket.objects.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return 0
    written = 0
    for first in range(bounds["low"], bounds["high"] + 1, batch_size):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT tickets_search_rebuild(%s, %s)", [first, first + batch_size - 1])
            written += cursor.fetchone()[0]
        if progress is not None:
            progress(written, bounds["high"])
    return written
