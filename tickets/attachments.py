"""The files of tickets: kept (staged) before a ticket adopts them, attached, swept when left.

A row is saved before its files are written and deleted only after they are: a request killed
half-way leaves a staged row (no ticket), which attachments_staged_sweep removes with whatever was
written, never a file that no row names.
"""

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

from customers.models import User
from customers.selectors import customer_access
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.uploads import CleanFile

NewFiles = Sequence[tuple[str, CleanFile]]

logger = logging.getLogger(__name__)


def attachments_stage(*, user, files: NewFiles, form_token: str = "") -> list[Attachment]:
    """Keep cleaned files without a ticket for the form shown again, within the user's quota.

    `form_token` names the form they were sent with: only that form offers them again.
    """
    access = customer_access(user)
    if access is not None and access.customer.is_suspended:
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
        attachments = _attachments_reserve(user=user, files=files, form_token=form_token)
    _attachments_write(attachments=attachments, files=files)
    return attachments


def attachments_staged_discard(*, user, form_token: str) -> int:
    """Delete the files a form kept for its retries and did not send, once it has succeeded."""
    if not form_token:
        return 0
    with transaction.atomic():
        # Locked as the sweep locks them: a copy of the form being sent right now (a double
        # click) either attaches a row first or finds it gone and says so, never half of it.
        left = list(
            Attachment.objects.select_for_update(skip_locked=True)
            .filter(uploaded_by=user, form_token=form_token, ticket__isnull=True)
            .only("pk", "file", "thumbnail")
        )
        gone = [a.pk for a in left if _files_delete(a)]
        Attachment.objects.filter(pk__in=gone, ticket__isnull=True).delete()
    return len(gone)


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


def _attachments_reserve(*, user, files: NewFiles, form_token: str = "") -> list[Attachment]:
    """Save staged rows naming the files about to be written."""
    attachments = []
    for kind, clean in files:
        attachment = Attachment(
            uploaded_by=user,
            form_token=form_token,
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
        attachments_discard(attachments)
        raise


def attachments_store(*, user, files: NewFiles) -> list[Attachment]:
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


def attachments_discard(attachments: Iterable[Attachment]) -> None:
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


def attachment_count_check(*, adding: int) -> None:
    if adding > settings.ATTACHMENT_MAX_COUNT:
        raise ValidationError(
            _("Too many files: at most %(limit)s per message.")
            % {"limit": settings.ATTACHMENT_MAX_COUNT}
        )


def attachments_attach(
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
