import logging
import uuid
from datetime import timedelta
from functools import partial

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from customers.imports import IMPORT_MAX_SIZE
from customers.invitations import INVITATION_SALT, invitation_send
from customers.models import (
    Customer,
    CustomerImport,
    Invitation,
    LoginSession,
    Member,
    Unit,
    User,
)
from customers.tasks import customer_import_run_task, invitation_send_task
from products.models import Product

logger = logging.getLogger(__name__)


def customer_create(
    *,
    code: str,
    company: str,
    email: str,
    password: str | None = None,
    contact_name: str = "",
    language: str = "it",
    country: str = "",
    phone: str = "",
) -> Customer:
    """Create a customer and the user it logs in with."""
    user_model = get_user_model()
    code = code.strip().upper()
    with transaction.atomic():
        user = user_model(username=code, email=email.strip().lower(), first_name=contact_name[:150])
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        customer = Customer(
            user=user,
            code=code,
            company=company.strip(),
            contact_name=contact_name.strip(),
            language=language,
            country=country.strip().upper(),
            phone=phone.strip(),
        )
        customer.full_clean(exclude=["user"])
        customer.save()
    return customer


def customer_update_profile(
    *, customer: Customer, contact_name: str, phone: str, language: str
) -> Customer:
    """Let a customer change the details it owns (the code and e-mail are the vendor's)."""
    customer.contact_name = contact_name.strip()
    customer.phone = phone.strip()
    customer.language = language
    customer.full_clean(exclude=["user"])
    customer.save(update_fields=["contact_name", "phone", "language", "updated_at"])
    return customer


def customer_suspend(*, customer: Customer, reason: str) -> Customer:
    """Suspend a customer (terms, §5): it keeps reading its tickets but cannot open or reply."""
    if not reason.strip():
        raise ValidationError({"suspension_reason": _("Give the reason for the suspension.")})
    customer.is_suspended = True
    customer.suspension_reason = reason.strip()
    customer.suspended_at = timezone.now()
    customer.save(update_fields=["is_suspended", "suspension_reason", "suspended_at", "updated_at"])
    return customer


def customer_reinstate(*, customer: Customer) -> Customer:
    """Lift a suspension."""
    customer.is_suspended = False
    customer.suspension_reason = ""
    customer.suspended_at = None
    customer.save(update_fields=["is_suspended", "suspension_reason", "suspended_at", "updated_at"])
    return customer


def unit_serial_check(*, product: Product, serial_number: str, unit: Unit | None = None) -> str:
    """Check a serial number for a product and return it normalised (trimmed, upper case)."""
    serial_number = (serial_number or "").strip().upper()
    if not product.has_serial_number:
        raise ValidationError({"product": _("This product has no serial number to register.")})
    if not serial_number:
        raise ValidationError({"serial_number": _("Enter the serial number.")})
    taken = Unit.objects.filter(product=product, serial_number=serial_number)
    if unit is not None and unit.pk is not None:
        taken = taken.exclude(pk=unit.pk)
    if taken.exists():
        raise ValidationError({"serial_number": _("This serial number is already registered.")})
    return serial_number


def customer_unit_write_check(*, customer: Customer) -> None:
    """Refuse a suspended customer's own change to its units, as its ticket writes are refused."""
    if customer.is_suspended:
        raise PermissionDenied(
            _("Your account is suspended: %(reason)s") % {"reason": customer.suspension_reason}
        )


def unit_register(
    *, customer: Customer, product: Product, serial_number: str, by_staff: bool = False
) -> Unit:
    """Register a unit the customer owns; the serial is unique per product.

    A suspended customer cannot register units itself; staff (the admin) still may.
    """
    if not by_staff:
        customer_unit_write_check(customer=customer)
    serial_number = unit_serial_check(product=product, serial_number=serial_number)
    unit = Unit(customer=customer, product=product, serial_number=serial_number)
    unit.full_clean(exclude=["customer"])
    try:
        with transaction.atomic():
            unit.save()
    except IntegrityError as exc:  # a concurrent registration of the same serial
        raise ValidationError(
            {"serial_number": _("This serial number is already registered.")}
        ) from exc
    return unit


def unit_correct_serial(*, unit: Unit, serial_number: str) -> Unit:
    """Correct a mistyped serial number while no ticket refers to the unit."""
    with transaction.atomic():
        # The lock makes a ticket being opened on this unit wait, or be seen below.
        locked = Unit.objects.select_for_update().select_related("product").get(pk=unit.pk)
        # Tickets copy the serial at submission: changing it later would part them from the unit.
        if locked.tickets.exists():
            raise ValidationError(
                {
                    "serial_number": _(
                        "Tickets refer to this unit: its serial number can no longer change."
                    )
                }
            )
        serial_number = unit_serial_check(
            product=locked.product, serial_number=serial_number, unit=locked
        )
        if serial_number != locked.serial_number:
            locked.serial_number = serial_number
            try:
                with transaction.atomic():
                    locked.save(update_fields=["serial_number", "updated_at"])
            except IntegrityError as exc:
                raise ValidationError(
                    {"serial_number": _("This serial number is already registered.")}
                ) from exc
    unit.serial_number = locked.serial_number
    unit.updated_at = locked.updated_at
    return unit


def unit_report_lost(*, unit: Unit, status: str, details: str) -> Unit:
    """Report a unit lost or stolen (terms, §10); from then on it accepts only that report."""
    if status not in (Unit.Status.LOST, Unit.Status.STOLEN):
        raise ValidationError({"status": _("Choose lost or stolen.")})
    if unit.is_lost_or_stolen:
        raise ValidationError(_("This unit has already been reported lost or stolen."))
    unit.status = status
    unit.loss_details = details.strip()
    unit.status_changed_at = timezone.now()
    unit.save(update_fields=["status", "loss_details", "status_changed_at", "updated_at"])
    return unit


# The Databank import, uploaded in the admin ------------------------------------------------


def customer_import_submit(*, upload, user) -> CustomerImport:
    """Store an uploaded CSV and hand its import to a worker once the row is committed."""
    if upload.size > IMPORT_MAX_SIZE:
        raise ValidationError(
            {
                "file": _("The file is larger than %(size)d MB: split it in several files.")
                % {"size": IMPORT_MAX_SIZE // (1024 * 1024)}
            }
        )
    with transaction.atomic():
        customer_import = CustomerImport(original_name=upload.name[:255], uploaded_by=user)
        customer_import.file.save(f"import-{uuid.uuid4().hex}.csv", upload, save=False)
        customer_import.save()
        transaction.on_commit(lambda: _customer_import_enqueue(customer_import.pk))
    return customer_import


def _customer_import_enqueue(pk: int) -> None:
    try:
        customer_import_run_task.delay(pk)
    except Exception as exc:  # whatever the broker raised: say so on the import's page
        logger.exception("Could not hand customer import %s to a worker", pk)
        CustomerImport.objects.filter(pk=pk, status=CustomerImport.Status.PENDING).update(
            status=CustomerImport.Status.FAILED,
            finished_at=timezone.now(),
            report={
                "refused": _(
                    "The import could not be handed to a worker (%(error)s). Upload the file "
                    "again in a few minutes."
                )
                % {"error": type(exc).__name__}
            },
        )


# Two-factor log-in for staff (django-otp) ---------------------------------------------------------

RECOVERY_DEVICE_NAME = "recovery"


def staff_two_factor_is_set_up(*, user) -> bool:
    """Tell whether a staff member has confirmed an authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def staff_recovery_codes_left(*, user) -> int:
    """Return how many unused recovery codes a staff member has."""
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def staff_totp_device_start(*, user) -> TOTPDevice:
    """Return the staff member's authenticator device waiting for confirmation, made if needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def _throttled(devices) -> ValidationError | None:
    for device in devices:
        allowed, info = device.verify_is_allowed()
        if not allowed and info and info.get("locked_until"):
            seconds = max(int((info["locked_until"] - timezone.now()).total_seconds()) + 1, 1)
            return ValidationError(
                _(
                    "Too many wrong codes in a row (%(count)s): wait %(seconds)s seconds "
                    "before the next try."
                )
                % {"count": info["failure_count"], "seconds": seconds},
                code="throttled",
            )
    return None


def _token_clean(token: str) -> str:
    return "".join(token.split()).lower()


def staff_recovery_codes_generate(*, user) -> list[str]:
    """Replace a staff member's recovery codes with new single-use ones; return them once."""
    with transaction.atomic():
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _i in range(settings.STAFF_RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def staff_totp_device_confirm(*, user, device: TOTPDevice, token: str) -> list[str]:
    """Confirm an authenticator app with a code it shows; return the first recovery codes."""
    refusal = _throttled([device])
    if refusal is not None:
        raise refusal
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        # A wrong code is counted (django-otp's throttle) and kept: the refusal comes after.
        verified = device.verify_token(_token_clean(token))
    if not verified:
        raise ValidationError(
            _("This is not the code your app shows now. Check the time of your phone and retry."),
            code="invalid",
        )
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        return staff_recovery_codes_generate(user=user)


def staff_two_factor_verify(*, user, token: str) -> Device:
    """Check a code from the app or an unused recovery code (then spent); return its device.

    Six digits are the app's; anything else is a recovery code: each kind of code is counted
    against its own device by django-otp's throttle, so a recovery code is no wrong app code.
    """
    token = _token_clean(token)
    model = TOTPDevice if token.isdigit() and len(token) <= 8 else StaticDevice
    devices = list(model.objects.devices_for_user(user, confirmed=True))
    refusal = _throttled(devices)
    if refusal is not None:
        raise refusal
    for device in devices:
        verified = verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    failures = max(
        (d.throttling_failure_count for d in model.objects.devices_for_user(user)), default=0
    )
    raise ValidationError(
        _("This code is not valid (wrong codes in a row: %(count)s).") % {"count": failures},
        code="invalid",
    )


def staff_two_factor_reset(*, user, by) -> int:
    """Remove a staff member's devices and end their sessions (a lost phone); audited.

    The next log-in sets up a new app. Managers cannot reset their own: another one must.
    """
    if not by.has_perm("customers.reset_two_factor") or not user.is_staff:
        raise PermissionDenied(_("You cannot reset this person's two-factor log-in."))
    if user.pk == by.pk:
        raise PermissionDenied(_("Ask another manager to reset your own two-factor log-in."))
    with transaction.atomic():
        removed = 0
        for model in (TOTPDevice, StaticDevice):
            for device in model.objects.filter(user=user):
                device.delete()
                removed += 1
        LoginSession.objects.filter(user=user).delete()
        LogEntry.objects.log_create(
            user,
            force_log=True,
            action=LogEntry.Action.UPDATE,
            changes={"two-factor devices": [str(removed), "0"]},
            additional_data={"event": "two-factor reset", "by": by.get_username()},
        )
    return removed


# Workshops as teams: invitations and members ------------------------------------------------------


class InvitationLinkError(Exception):
    """An invitation link that cannot be used, with the sentence that says why."""


def _team_write_check(*, customer: Customer) -> None:
    if customer.is_suspended:
        raise PermissionDenied(
            _("Your account is suspended: you cannot change the people of your workshop.")
        )


def invitation_create(*, customer: Customer, by: User, email: str, scope: str) -> Invitation:
    """Invite a colleague to the workshop by e-mail; inviting an address again sends it anew."""
    _team_write_check(customer=customer)
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    if scope not in Member.Scope.values:
        raise ValidationError({"scope": _("Choose which tickets the colleague sees.")})
    if email == customer.email.lower():
        raise ValidationError({"email": _("This is the address of the customer code itself.")})
    existing = get_user_model().objects.filter(email__iexact=email).select_related("membership")
    for user in existing:
        member = getattr(user, "membership", None)
        if member is None or member.customer_id != customer.pk:
            raise ValidationError(
                {"email": _("This address already has a log-in on the portal: use another one.")}
            )
        if member.removed_at is None:
            raise ValidationError({"email": _("This colleague is already in your workshop.")})
    now = timezone.now()
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        invitation = (
            Invitation.objects.select_for_update()
            .filter(customer=customer, email__iexact=email, status=Invitation.Status.PENDING)
            .first()
        )
        if invitation is None:
            members = Member.objects.filter(customer=customer, removed_at__isnull=True).count()
            pending = Invitation.objects.filter(
                customer=customer, status=Invitation.Status.PENDING
            ).count()
            if members + pending >= settings.WORKSHOP_MEMBERS_MAX:
                raise ValidationError(
                    _(
                        "A workshop has at most %(limit)s colleagues and invitations: remove "
                        "someone or withdraw an invitation first."
                    )
                    % {"limit": settings.WORKSHOP_MEMBERS_MAX}
                )
            invitation = Invitation(customer=customer, email=email)
        invitation.scope = scope
        invitation.invited_by = by
        invitation.expires_at = now + timedelta(days=settings.WORKSHOP_INVITATION_DAYS)
        invitation.save()
        transaction.on_commit(partial(_invitation_enqueue, invitation.pk))
    return invitation


def _invitation_enqueue(pk: int) -> None:
    try:
        invitation_send_task.delay(pk)
    except Exception:  # whatever the broker raised: the invitation goes out from here instead
        logger.exception("Could not hand invitation %s to a worker; sending it now", pk)
        try:
            invitation_send(invitation_id=pk)
        except Exception:
            logger.exception("Could not send invitation %s", pk)


def invitation_read(*, token: str) -> Invitation:
    """The invitation a link names, if it can still be accepted; else InvitationLinkError."""
    try:
        pk = signing.loads(
            token,
            salt=INVITATION_SALT,
            max_age=timedelta(days=settings.WORKSHOP_INVITATION_DAYS),
        )
    except signing.SignatureExpired as exc:
        raise InvitationLinkError(
            _("This invitation has expired: ask your colleague to invite you again.")
        ) from exc
    except signing.BadSignature as exc:
        raise InvitationLinkError(
            _("This link is not valid: copy the whole address from the e-mail.")
        ) from exc
    invitation = Invitation.objects.select_related("customer").filter(pk=pk).first()
    if invitation is None or invitation.status == Invitation.Status.REVOKED:
        raise InvitationLinkError(_("This invitation has been withdrawn."))
    if invitation.status == Invitation.Status.ACCEPTED:
        raise InvitationLinkError(
            _("This invitation has already been accepted: log in with your e-mail address.")
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationLinkError(
            _("This invitation has expired: ask your colleague to invite you again.")
        )
    if invitation.customer.is_suspended:
        raise InvitationLinkError(
            _("The workshop's account is suspended: the invitation cannot be accepted now.")
        )
    return invitation


@sensitive_variables("password")
def invitation_accept(
    *, invitation: Invitation, first_name: str, last_name: str, password: str
) -> Member:
    """Make the invited colleague a member, with the password they chose; the link is used up."""
    user_model = get_user_model()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().select_related("customer").get(pk=invitation.pk)
        )
        waiting = invitation.status == Invitation.Status.PENDING
        # The invitation's own refusals are the whole form's (NON_FIELD_ERRORS): the view puts
        # the other errors, the password validators', under the password.
        if not waiting or invitation.expires_at <= timezone.now():
            raise ValidationError(
                {NON_FIELD_ERRORS: _("This invitation can no longer be accepted.")}
            )
        if invitation.customer.is_suspended:
            raise PermissionDenied(
                _("The workshop's account is suspended: the invitation cannot be accepted now.")
            )
        user = (
            user_model.objects.select_for_update(of=("self",))
            .filter(email__iexact=invitation.email)
            .select_related("membership")
            .first()
        )
        member = getattr(user, "membership", None) if user is not None else None
        if user is not None and (member is None or member.customer_id != invitation.customer_id):
            raise ValidationError(
                {NON_FIELD_ERRORS: _("This address already has a log-in on the portal.")}
            )
        if user is None:
            user = user_model(username=invitation.email, email=invitation.email)
        user.first_name = first_name.strip()[:150]
        user.last_name = last_name.strip()[:150]
        user.is_active = True
        password_validation.validate_password(password, user)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        if member is None:
            member = Member(customer=invitation.customer, user=user)
        member.scope = invitation.scope
        member.invited_by = invitation.invited_by
        member.removed_at = None
        member.save()
        invitation.status = Invitation.Status.ACCEPTED
        invitation.answered_at = timezone.now()
        invitation.member = member
        invitation.save(update_fields=["status", "answered_at", "member", "updated_at"])
    return member


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    """Withdraw an invitation not yet accepted: its link stops working at once."""
    with transaction.atomic():
        updated = Invitation.objects.filter(
            pk=invitation.pk, status=Invitation.Status.PENDING
        ).update(
            status=Invitation.Status.REVOKED, answered_at=timezone.now(), updated_at=timezone.now()
        )
    if not updated:
        raise ValidationError(_("This invitation is no longer waiting."))
    invitation.refresh_from_db()
    return invitation


def member_scope_set(*, member: Member, scope: str) -> Member:
    """Let a member see every ticket of the workshop, or only the ones they opened."""
    if scope not in Member.Scope.values:
        raise ValidationError({"scope": _("Choose which tickets the colleague sees.")})
    member.scope = scope
    member.save(update_fields=["scope", "updated_at"])
    return member


def member_remove(*, member: Member) -> Member:
    """Take a member out of the workshop: their log-in stops at once, their messages stay."""
    with transaction.atomic():
        member = Member.objects.select_for_update().select_related("user").get(pk=member.pk)
        if member.removed_at is not None:
            return member
        member.removed_at = timezone.now()
        member.save(update_fields=["removed_at", "updated_at"])
        member.user.is_active = False
        member.user.save(update_fields=["is_active"])
        LoginSession.objects.filter(user=member.user).delete()
    return member


def member_update_name(*, user: User, first_name: str, last_name: str) -> User:
    """Let a member correct their own name, shown on the tickets and messages they write."""
    user.first_name = first_name.strip()[:150]
    user.last_name = last_name.strip()[:150]
    user.save(update_fields=["first_name", "last_name"])
    return user
