import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import TermsVersion
from core.selectors import terms_current
from customers.models import Customer, Unit, User
from notifications.services import notifications_record_update
from products.models import Product
from schedule.gate import require_service_open
from tickets.models import Attachment, Ticket, TicketCounter, TicketEvent
from tickets.updates import Update
from tickets.uploads import CleanFile

COUNTER_NAME = "ticket"

logger = logging.getLogger(__name__)

NewFiles = Sequence[tuple[str, CleanFile]]


# Attachments ------------------------------------------------------------------------------------
#
# A row is saved before its files are written and deleted only after they are: a request killed
# half-way leaves a staged row (no ticket), which attachments_staged_sweep removes with whatever
# was written, never a file that no row names.


def attachments_stage(*, user, files: NewFiles) -> list[Attachment]:
    """Keep cleaned files without a ticket for the form shown again, within the user's quota."""
    customer = getattr(user, "customer", None)
    if customer is not None and customer.is_suspended:
        raise PermissionDenied(_("Your account is suspended: your files were not kept."))
    if not files:
        return []
    sizes = [clean.size for _kind, clean in files]
    # Checked before anything is written, then again under the lock that admits one staging
    # per user at a time, so two forms sent together cannot overshoot the quota.
    _check_staged_quota(user=user, sizes=sizes)
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        _check_staged_quota(user=user, sizes=sizes)
        attachments = _attachments_reserve(user=user, files=files)
    _attachments_write(attachments=attachments, files=files)
    return attachments


def _staged_usage(*, user) -> tuple[int, int]:
    usage = Attachment.objects.filter(uploaded_by=user, ticket__isnull=True).aggregate(
        count=Count("pk"), size=Sum("size")
    )
    return usage["count"], usage["size"] or 0


def _check_staged_quota(*, user, sizes: Sequence[int]) -> None:
    count, size = _staged_usage(user=user)
    max_count, max_size = settings.ATTACHMENT_STAGED_MAX_COUNT, settings.ATTACHMENT_STAGED_MAX_SIZE
    if count + len(sizes) <= max_count and size + sum(sizes) <= max_size:
        return
    raise ValidationError(
        _(
            "Your new files were not kept for the next attempt: the files waiting from your "
            "earlier attempts (%(count)s of at most %(max_count)s, %(size)s of at most "
            "%(max_size)s) leave no room for them. Choose them again when you send the form; "
            "files not sent are deleted after %(hours)s hours."
        ),
        params={
            "count": count,
            "max_count": max_count,
            "size": filesizeformat(size),
            "max_size": filesizeformat(max_size),
            "hours": settings.ATTACHMENT_STAGED_MAX_AGE_HOURS,
        },
        code="staged_quota",
    )


def _attachments_reserve(*, user, files: NewFiles) -> list[Attachment]:
    """Save staged rows naming the files about to be written."""
    attachments = []
    for kind, clean in files:
        attachment = Attachment(
            uploaded_by=user,
            kind=kind,
            original_name=clean.original_name,
            content_type=clean.content_type,
            size=clean.size,
        )
        attachment.file.name = attachment.file.field.generate_filename(
            attachment, clean.original_name
        )
        if clean.thumbnail is not None:
            attachment.thumbnail.name = attachment.thumbnail.field.generate_filename(
                attachment, "thumb.jpg"
            )
        attachments.append(attachment)
    return Attachment.objects.bulk_create(attachments)


def _attachments_write(*, attachments: Sequence[Attachment], files: NewFiles) -> None:
    """Write the reserved files, outside any transaction so that locks are held briefly."""
    try:
        for attachment, (_kind, clean) in zip(attachments, files, strict=True):
            for field, content in (
                (attachment.file, clean.content),
                (attachment.thumbnail, clean.thumbnail),
            ):
                if content is None:
                    continue
                name = field.storage.save(field.name, content, max_length=field.field.max_length)
                if name != field.name:
                    # The storage found the generated name taken and picked another one.
                    field.name = name
                    Attachment.objects.filter(pk=attachment.pk).update(**{field.field.name: name})
    except Exception:
        _attachments_discard(attachments)
        raise


def _store_files(*, user, files: NewFiles) -> list[Attachment]:
    """Save staged rows for cleaned files, then write the files; a ticket adopts them after."""
    if not files:
        return []
    attachments = _attachments_reserve(user=user, files=files)
    _attachments_write(attachments=attachments, files=files)
    return attachments


def _files_delete(attachment: Attachment) -> bool:
    """Delete an attachment's files; False, and the reason logged, if one could not be."""
    for field in (attachment.file, attachment.thumbnail):
        if not field.name:
            continue
        try:
            # A file already gone is not an error: FileSystemStorage.delete ignores it.
            field.storage.delete(field.name)
        except Exception:
            logger.exception("Could not delete %s of attachment %s", field.name, attachment.pk)
            return False
    return True


def _attachments_discard(attachments: Iterable[Attachment]) -> None:
    """Delete rows not adopted by a ticket, each after its files; the sweep retries the rest."""
    deletable = [a.pk for a in attachments if a.pk is not None and _files_delete(a)]
    if deletable:
        Attachment.objects.filter(pk__in=deletable, ticket__isnull=True).delete()


def attachments_staged_sweep(
    *, max_age: timedelta | None = None, at: datetime | None = None, batch_size: int = 200
) -> int:
    """Delete the staged attachments older than max_age: each row after its files, in batches."""
    if max_age is None:
        max_age = timedelta(hours=settings.ATTACHMENT_STAGED_MAX_AGE_HOURS)
    cutoff = (at or timezone.now()) - max_age
    deleted, after = 0, 0
    while True:
        with transaction.atomic():
            # Rows a form is attaching right now are locked by it: skip them. A form that tries
            # to attach a row this sweep holds waits, then finds it gone and says so.
            batch = list(
                Attachment.objects.select_for_update(skip_locked=True)
                .filter(ticket__isnull=True, created_at__lt=cutoff, pk__gt=after)
                .only("pk", "file", "thumbnail")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return deleted
            after = batch[-1].pk
            gone = [a.pk for a in batch if _files_delete(a)]
            Attachment.objects.filter(pk__in=gone, ticket__isnull=True).delete()
            deleted += len(gone)


def _check_attachment_count(*, adding: int) -> None:
    if adding > settings.ATTACHMENT_MAX_COUNT:
        raise ValidationError(
            _("Too many files: at most %(limit)s per message.")
            % {"limit": settings.ATTACHMENT_MAX_COUNT}
        )


# Events -----------------------------------------------------------------------------------------


def _event_record(
    *,
    ticket: Ticket,
    kind: str,
    author=None,
    body: str = "",
    is_public: bool = True,
    old_status: str = "",
    new_status: str = "",
    at: datetime | None = None,
) -> TicketEvent:
    event = TicketEvent.objects.create(
        created_at=at or timezone.now(),
        ticket=ticket,
        kind=kind,
        author=author,
        body=body,
        is_public=is_public,
        old_status=old_status,
        new_status=new_status,
    )
    return event


def _update_publish(*, ticket: Ticket, recorded: Sequence[TicketEvent]) -> Update:
    """Hand the events one service recorded to the e-mail outbox, inside its transaction."""
    update = Update(ticket=ticket, events=tuple(recorded))
    notifications_record_update(update=update)
    return update


def _status_set(
    *, ticket: Ticket, status: str, author, kind=TicketEvent.Kind.STATUS
) -> TicketEvent | None:
    if ticket.status == status:
        return None
    old = ticket.status
    ticket.status = status
    return _event_record(ticket=ticket, kind=kind, author=author, old_status=old, new_status=status)


# Customers' writes ------------------------------------------------------------------------------


def _check_customer_can_write(*, customer: Customer, at: datetime | None) -> None:
    require_service_open(at=at)
    if customer.is_suspended:
        raise PermissionDenied(
            _("Your account is suspended: %(reason)s") % {"reason": customer.suspension_reason}
        )


def ticket_open_list_for_unit(*, unit: Unit):
    """Return the unit's open tickets (the one-ticket-per-problem guard shows them)."""
    return (
        Ticket.objects.filter(unit=unit, status__in=Ticket.OPEN_STATUSES)
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
    at: datetime | None = None,
) -> Ticket:
    """Open a ticket: check the rules, store files, then number and save it in one transaction."""
    _check_customer_can_write(customer=customer, at=at)
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
    if unit is not None and not confirmed_new_problem and ticket_open_list_for_unit(unit=unit):
        errors.setdefault("confirm_new_problem", []).append(
            _("This unit already has open tickets: confirm that this is a new problem.")
        )
    for attachment in staged:
        if attachment.ticket_id is not None or attachment.uploaded_by_id != customer.user_id:
            raise PermissionDenied(_("This file is not yours."))
    _check_attachment_count(adding=len(files) + len(staged))
    if errors:
        raise ValidationError(errors)

    stored = _store_files(user=customer.user, files=files)
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
            event = _event_record(
                ticket=ticket, kind=TicketEvent.Kind.SUBMITTED, author=customer.user, at=now
            )
            _attachments_attach(ticket=ticket, event=event, new=stored, staged=staged)
            _update_publish(ticket=ticket, recorded=[event])
    except Exception:
        _attachments_discard(stored)
        raise
    return ticket


def _attachments_attach(
    *, ticket: Ticket, event: TicketEvent, new: Sequence[Attachment], staged: Sequence[Attachment]
) -> None:
    pks = [a.pk for a in (*new, *staged)]
    if not pks:
        return
    attached = Attachment.objects.filter(pk__in=pks, ticket__isnull=True).update(
        ticket=ticket, event=event
    )
    if attached != len(set(pks)):
        # The sweep deleted a file kept from an earlier attempt while this form was pending.
        raise ValidationError(
            {
                "staged": [
                    _(
                        "A file kept from your earlier attempt is no longer available: "
                        "attach it again."
                    )
                ]
            }
        )
    for attachment in new:
        attachment.ticket, attachment.event = ticket, event


def ticket_reply_customer(
    *,
    ticket: Ticket,
    customer: Customer,
    body: str,
    files: NewFiles = (),
    staged: Sequence[Attachment] = (),
    at: datetime | None = None,
) -> TicketEvent:
    """Add the customer's message; an answered ticket goes back to its operator."""
    _check_customer_can_write(customer=customer, at=at)
    if ticket.customer_id != customer.pk:
        raise PermissionDenied
    return _message_add(
        ticket=ticket,
        author=customer.user,
        body=body,
        files=files,
        staged=staged,
        is_public=True,
        from_customer=True,
    )


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
) -> TicketEvent:
    body = body.strip()
    if not body and not files and not staged:
        raise ValidationError({"body": [_("Write a message or attach a file.")]})
    if not ticket.is_open:
        raise ValidationError(_("This ticket is closed: open a new one for a new problem."))
    _check_attachment_count(adding=len(files) + len(staged))
    stored = _store_files(user=author, files=files)
    try:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
            if not ticket.is_open:
                raise ValidationError(_("This ticket is closed: open a new one for a new problem."))
            if not is_public:
                kind = TicketEvent.Kind.NOTE
            else:
                kind = TicketEvent.Kind.MESSAGE if body else TicketEvent.Kind.ATTACHMENT
            event = _event_record(
                ticket=ticket, kind=kind, author=author, body=body, is_public=is_public
            )
            _attachments_attach(ticket=ticket, event=event, new=stored, staged=staged)
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
                        _status_set(ticket=ticket, status=target, author=author, kind=status_kind)
                    )
                    fields.append("status")
            elif is_public:
                if ticket.first_response_at is None:
                    ticket.first_response_at = event.created_at
                    fields.append("first_response_at")
                if new_status and new_status != ticket.status:
                    recorded.append(_status_set(ticket=ticket, status=new_status, author=author))
                    fields.append("status")
            ticket.save(update_fields=fields)
            _update_publish(ticket=ticket, recorded=recorded)
    except Exception:
        _attachments_discard(stored)
        raise
    return event


# Staff's writes (the admin calls these; the calendar binds customers, not staff) ----------------


def ticket_take(*, ticket: Ticket, operator) -> Ticket:
    """Assign a ticket to an operator and mark it taken in charge."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise ValidationError(_("This ticket is closed."))
        if ticket.assigned_to_id == operator.pk:
            return ticket
        ticket.assigned_to = operator
        ticket.taken_at = timezone.now()
        old = ticket.status
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.TAKEN
        event = _event_record(
            ticket=ticket,
            kind=TicketEvent.Kind.ASSIGNED,
            author=operator,
            old_status=old,
            new_status=ticket.status,
        )
        ticket.save(update_fields=["assigned_to", "taken_at", "status", "updated_at"])
        _update_publish(ticket=ticket, recorded=[event])
    return ticket


def ticket_take_next(*, operator) -> Ticket | None:
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
        return ticket_take(ticket=ticket, operator=operator)


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
) -> TicketEvent:
    """Add an operator's public answer (by default the ticket becomes answered) or internal note."""
    if new_status:
        _check_operator_status(status=new_status, field="new_status")
    if ticket.assigned_to_id is None and is_public:
        ticket = ticket_take(ticket=ticket, operator=operator)
    return _message_add(
        ticket=ticket,
        author=operator,
        body=body,
        files=files,
        staged=(),
        is_public=is_public,
        from_customer=False,
        new_status=new_status if is_public else None,
    )


def ticket_status_change(*, ticket: Ticket, operator, status: str) -> Ticket:
    """Move an open ticket to another open status."""
    _check_operator_status(status=status, field="status")
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise ValidationError(_("This ticket is closed."))
        if status != Ticket.Status.NEW and ticket.assigned_to_id is None:
            ticket.assigned_to = operator
            ticket.taken_at = timezone.now()
        event = _status_set(ticket=ticket, status=status, author=operator)
        ticket.save(update_fields=["status", "assigned_to", "taken_at", "updated_at"])
        _update_publish(ticket=ticket, recorded=[event] if event else [])
    return ticket


def _remote_access_erase_on_close(*, ticket: Ticket) -> None:
    # Imported here: tickets.remote_access builds on this module.
    from tickets.models import RemoteAccessRequest
    from tickets.remote_access import remote_access_erase_for_ticket

    remote_access_erase_for_ticket(ticket=ticket, reason=RemoteAccessRequest.EraseReason.CLOSED)


def ticket_close(*, ticket: Ticket, user, body: str = "") -> Ticket:
    """Close a ticket, by its customer or by an operator."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise ValidationError(_("This ticket is already closed."))
        old = ticket.status
        ticket.status = Ticket.Status.CLOSED
        ticket.closed_at = timezone.now()
        event = _event_record(
            ticket=ticket,
            kind=TicketEvent.Kind.CLOSED,
            author=user,
            body=body.strip(),
            old_status=old,
            new_status=ticket.status,
        )
        ticket.save(update_fields=["status", "closed_at", "updated_at"])
        _remote_access_erase_on_close(ticket=ticket)
        _update_publish(ticket=ticket, recorded=[event])
    return ticket


def ticket_close_by_customer(*, ticket: Ticket, customer: Customer) -> Ticket:
    """Close one's own ticket; allowed whatever the calendar says: it asks nothing of staff."""
    if ticket.customer_id != customer.pk:
        raise PermissionDenied
    return ticket_close(ticket=ticket, user=customer.user)


def ticket_mark_duplicate(*, ticket: Ticket, original: Ticket, operator) -> Ticket:
    """Close a ticket as a duplicate of another one, which survives."""
    if original.pk == ticket.pk:
        raise ValidationError(_("A ticket cannot duplicate itself."))
    if original.customer_id != ticket.customer_id:
        raise ValidationError(_("The surviving ticket must belong to the same customer."))
    if original.duplicate_of_id == ticket.pk:
        raise ValidationError(_("That ticket is already a duplicate of this one."))
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise ValidationError(_("This ticket is already closed."))
        old = ticket.status
        ticket.duplicate_of = original
        ticket.status = Ticket.Status.CLOSED
        ticket.closed_at = timezone.now()
        event = _event_record(
            ticket=ticket,
            kind=TicketEvent.Kind.DUPLICATE,
            author=operator,
            body=_("Duplicate of ticket #%(number)s.") % {"number": original.number},
            old_status=old,
            new_status=ticket.status,
        )
        ticket.save(update_fields=["duplicate_of", "status", "closed_at", "updated_at"])
        _remote_access_erase_on_close(ticket=ticket)
        _update_publish(ticket=ticket, recorded=[event])
    return ticket
