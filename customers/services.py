import csv
from dataclasses import dataclass, field
from typing import TextIO

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Unit
from products.models import Product


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


# Import from the Databank's CSV export ----------------------------------------------------------

IMPORT_COLUMNS = ("code", "company", "email")
OPTIONAL_COLUMNS = ("contact_name", "language", "country", "phone", "product", "serial_number")


@dataclass
class ImportReport:
    customers_created: int = 0
    customers_updated: int = 0
    units_created: int = 0
    rows_unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def customers_import_csv(*, stream: TextIO) -> ImportReport:
    """Import customers and their units from a CSV export; each row is all or nothing."""
    report = ImportReport()
    reader = csv.DictReader(stream)
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        report.errors.append((1, _("Missing columns: %s") % ", ".join(missing)))
        return report
    products = {p.code: p for p in Product.objects.all()}
    products.update({p.name.lower(): p for p in products.values()})
    for line, row in enumerate(reader, start=2):
        # Count a row only once it is committed: a refused row must not show as imported.
        row_report = ImportReport()
        try:
            with transaction.atomic():
                _import_row(row=row, products=products, report=row_report)
        except ValidationError as exc:
            report.errors.append((line, "; ".join(_flatten(exc))))
        except IntegrityError as exc:
            report.errors.append((line, str(exc).splitlines()[0]))
        else:
            report.customers_created += row_report.customers_created
            report.customers_updated += row_report.customers_updated
            report.units_created += row_report.units_created
            report.rows_unchanged += row_report.rows_unchanged
    return report


def _flatten(exc: ValidationError) -> list[str]:
    if hasattr(exc, "message_dict"):
        return [f"{key}: {msg}" for key, msgs in exc.message_dict.items() for msg in msgs]
    return list(exc.messages)


def _import_row(*, row: dict, products: dict, report: ImportReport) -> None:
    clean = {key: (value or "").strip() for key, value in row.items() if key}
    code = clean.get("code", "").upper()
    email = clean.get("email", "").lower()
    if not code:
        raise ValidationError({"code": [_("The customer code is empty.")]})
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": [_("Enter a valid e-mail address.")]}) from exc
    product = None
    serial = clean.get("serial_number", "").upper()
    if clean.get("product"):
        product = products.get(clean["product"]) or products.get(clean["product"].lower())
        if product is None:
            raise ValidationError({"product": [_("Unknown product “%s”.") % clean["product"]]})
        if product.has_serial_number and not serial:
            raise ValidationError({"serial_number": [_("The serial number is empty.")]})

    customer = Customer.objects.select_related("user").filter(code=code).first()
    fields = {
        "company": clean.get("company", ""),
        "contact_name": clean.get("contact_name", ""),
        # Empty: keep the language the customer chose in its profile (Italian for a new one).
        "language": clean.get("language", ""),
        "country": clean.get("country", "").upper(),
        "phone": clean.get("phone", ""),
    }
    changed = False
    if customer is None:
        customer = customer_create(
            code=code, email=email, **{**fields, "language": fields["language"] or "it"}
        )
        report.customers_created += 1
        changed = True
    else:
        updates = {k: v for k, v in fields.items() if v and getattr(customer, k) != v}
        if updates or customer.user.email != email:
            for key, value in updates.items():
                setattr(customer, key, value)
            customer.full_clean(exclude=["user"])
            customer.save()
            if customer.user.email != email:
                customer.user.email = email
                customer.user.full_clean(exclude=["password"])
                customer.user.save(update_fields=["email"])
            report.customers_updated += 1
            changed = True

    if product is not None and product.has_serial_number:
        unit = Unit.objects.filter(product=product, serial_number=serial).first()
        if unit is None:
            unit_register(customer=customer, product=product, serial_number=serial)
            report.units_created += 1
            changed = True
        elif unit.customer_id != customer.pk:
            raise ValidationError(
                {"serial_number": [_("Serial %s belongs to another customer.") % serial]}
            )
    if not changed:
        report.rows_unchanged += 1
