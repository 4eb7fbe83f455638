"""Personal data taken away and erased (terms, §11): the customer asks, a manager decides.

Here and not in customers: erasure anonymises the tickets, and customers sits below tickets.
"""

import logging

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import (
    Customer,
    ErasureRequest,
    LoginSession,
    Member,
    PersonalDataExport,
    User,
)
from notifications.models import Notification
from tickets.models import (
    Attachment,
    InboundMail,
    RemoteAccessRequest,
    Ticket,
    TicketEvent,
    TicketRating,
)
from tickets.personal_data_archive import (
    customer_members,
    erasure_request_pending,
    login_username_q,
    login_usernames,
    personal_data_export_latest,
)
from tickets.tasks import personal_data_export_build_task

logger = logging.getLogger(__name__)

# Written in place of what the customer wrote: the ticket's number, dates and product stay.
ERASED = "[erased]"


def personal_data_export_request(*, customer: Customer, user: User) -> PersonalDataExport:
    """Start an archive of the workshop's data; refused while one is being made or is ready."""
    latest = personal_data_export_latest(customer=customer)
    if latest is not None and latest.is_in_progress:
        raise ValidationError(_("Your archive is already being prepared."))
    if (
        latest is not None
        and latest.status == PersonalDataExport.Status.READY
        and latest.expires_at
        and latest.expires_at > timezone.now()
    ):
        raise ValidationError(
            _(
                "Your archive is ready: download it below. You can ask for a new one after it "
                "expires."
            )
        )
    try:
        with transaction.atomic():
            export = PersonalDataExport.objects.create(customer=customer, requested_by=user)
            transaction.on_commit(lambda: _personal_data_export_enqueue(export.pk))
    except IntegrityError as exc:
        # Two requests at once: the database lets one through.
        raise ValidationError(_("Your archive is already being prepared.")) from exc
    return export


def _personal_data_export_enqueue(pk: int) -> None:
    try:
        personal_data_export_build_task.delay(pk)
    except Exception:  # whatever the broker raised: the page says it failed, a new one may start
        logger.exception("Could not hand personal data export %s to a worker", pk)
        PersonalDataExport.objects.filter(pk=pk, status=PersonalDataExport.Status.PENDING).update(
            status=PersonalDataExport.Status.FAILED
        )


# Erasure -----------------------------------------------------------------------------------------


def erasure_request_create(*, customer: Customer, user: User, password: str) -> ErasureRequest:
    """Ask the managers to erase the account, once the password confirms who is asking."""
    if not user.check_password(password):
        raise ValidationError({"password": _("The password is not correct.")})
    if erasure_request_pending(customer=customer) is not None:
        raise ValidationError(_("An erasure request is already waiting for a manager."))
    try:
        with transaction.atomic():
            return ErasureRequest.objects.create(customer=customer, requested_by=user)
    except IntegrityError as exc:
        raise ValidationError(_("An erasure request is already waiting for a manager.")) from exc


def _erasure_email(*, address: str, language: str, template: str, context: dict) -> None:
    if not address:
        return
    with translation.override(language):
        subject = render_to_string(f"tickets/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"tickets/email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])


def erasure_request_refuse(*, erasure: ErasureRequest, by: User, reason: str) -> ErasureRequest:
    """Refuse an erasure (a ticket still under warranty, a legal hold), saying why."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the erasure is refused.")})
    with transaction.atomic():
        erasure = (
            ErasureRequest.objects.select_for_update()
            .select_related("customer__user")
            .get(pk=erasure.pk)
        )
        if erasure.status != ErasureRequest.Status.PENDING:
            raise ValidationError(_("This erasure request has already been decided."))
        erasure.status = ErasureRequest.Status.REFUSED
        erasure.decided_by, erasure.decided_at = by, timezone.now()
        erasure.refusal_reason = reason.strip()
        erasure.save(update_fields=["status", "decided_by", "decided_at", "refusal_reason"])
        customer = erasure.customer
        context = {"customer": customer, "reason": erasure.refusal_reason}
        address, language = customer.email, customer.language
        transaction.on_commit(
            lambda: _erasure_email(
                address=address, language=language, template="erasure_refused", context=context
            )
        )
    return erasure


def erasure_request_confirm(*, erasure: ErasureRequest, by: User) -> ErasureRequest:
    """Erase the account: tickets anonymised, files removed, log-ins closed; the audit stays."""
    with transaction.atomic():
        erasure = (
            ErasureRequest.objects.select_for_update()
            .select_related("customer__user")
            .get(pk=erasure.pk)
        )
        if erasure.status != ErasureRequest.Status.PENDING:
            raise ValidationError(_("This erasure request has already been decided."))
        customer = Customer.objects.select_for_update().get(pk=erasure.customer_id)
        members = customer_members(customer=customer)
        address, language, code = customer.email, customer.language, customer.code
        stored = _erase_customer_data(customer=customer, members=members)
        erasure.status = ErasureRequest.Status.CONFIRMED
        erasure.decided_by, erasure.decided_at = by, timezone.now()
        erasure.save(update_fields=["status", "decided_by", "decided_at"])
        # Files go once the rows naming them are gone for good: a rollback keeps both.
        transaction.on_commit(lambda: _storage_delete(stored))
        transaction.on_commit(
            lambda: _erasure_email(
                address=address,
                language=language,
                template="erasure_confirmed",
                context={"code": code},
            )
        )
    return erasure


def _erase_customer_data(*, customer: Customer, members: list[User]) -> list[str]:
    """Blank what the customer wrote and who it is; return the stored files to delete."""
    stored: list[str] = []
    tickets = Ticket.objects.filter(customer=customer)
    # Number, dates, product, serial number and status stay: numbering stays gap-free and the
    # service's figures (and a stolen tool's record) stay true.
    tickets.update(
        subject=ERASED,
        description=ERASED,
        vehicle_description="",
        vehicle_identification="",
        ecu_description="",
        ecu_identification="",
        software_version="",
        error_message="",
        operations="",
        updated_at=timezone.now(),
    )
    TicketEvent.objects.filter(ticket__in=tickets, author__in=members).exclude(body="").update(
        body=ERASED
    )
    for attachment in Attachment.objects.filter(
        Q(ticket__in=tickets) | Q(uploaded_by__in=members)
    ).only("pk", "file", "thumbnail"):
        stored.extend(f.name for f in (attachment.file, attachment.thumbnail) if f.name)
    Attachment.objects.filter(Q(ticket__in=tickets) | Q(uploaded_by__in=members)).delete()
    for mail in InboundMail.objects.filter(ticket__in=tickets).only("pk", "original"):
        if mail.original.name:
            stored.append(mail.original.name)
    InboundMail.objects.filter(ticket__in=tickets).update(
        sender="", subject="", text="", original=""
    )
    # The TeamViewer credentials are wiped after their short time limit anyway; do it now.
    RemoteAccessRequest.objects.filter(ticket__in=tickets).update(
        teamviewer_id_token=None, password_token=None
    )
    Notification.objects.filter(ticket__in=tickets).update(recipient="erased@invalid")
    # The answers to "How did we do?" stay in the dashboard's figures; their words go.
    TicketRating.objects.filter(ticket__in=tickets).exclude(comment="").update(comment="")
    for export in PersonalDataExport.objects.filter(customer=customer).only("pk", "file"):
        if export.file.name:
            stored.append(export.file.name)
    PersonalDataExport.objects.filter(customer=customer).delete()
    names = login_usernames(members)
    who = login_username_q(names)
    AccessLog.objects.filter(who).delete()
    AccessAttempt.objects.filter(who).delete()
    AccessFailureLog.objects.filter(who).delete()
    LoginSession.objects.filter(user__in=members).delete()
    customer.units.update(loss_details="")
    for user in members:
        user.is_active = False
        user.email = ""
        user.first_name = user.last_name = ""
        if user.pk != customer.user_id:
            # A member logs in with their e-mail address: their user name is one too.
            user.username = f"erased-member-{user.pk}"
        user.set_unusable_password()
        user.save(
            update_fields=["is_active", "email", "first_name", "last_name", "username", "password"]
        )
    Member.objects.filter(customer=customer, removed_at__isnull=True).update(
        removed_at=timezone.now()
    )
    customer.invitations.all().delete()
    customer.company = ERASED
    customer.contact_name = ""
    customer.phone = ""
    # Suspended (an audited change) so that nothing can write for it any more.
    customer.is_suspended = True
    customer.suspension_reason = _("Account erased at the customer's request.")
    customer.suspended_at = timezone.now()
    customer.save(
        update_fields=[
            "company",
            "contact_name",
            "phone",
            "is_suspended",
            "suspension_reason",
            "suspended_at",
            "updated_at",
        ]
    )
    return stored


def _storage_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception("Could not delete %s after an erasure", name)
