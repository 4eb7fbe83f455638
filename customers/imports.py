"""Import of customers and their units from the Databank's CSV export, as Excel saves it.

The file is read whole and checked before anything is written: its encoding (UTF-8, with or
without BOM, else Windows-1252), its separator (comma, semicolon or tab, from the header row),
its columns, and the customer codes that come back on several lines with different details
(the file is then refused: nothing is written). Each row is then all or nothing: a row refused
(bad e-mail, unknown product, a serial number someone else owns) is reported by its line and
the others are imported. The writes are batched (bulk_create / bulk_update, the existing rows
fetched in a few queries) inside one transaction, and progress is reported after each batch.
"""

from __future__ import annotations

import codecs
import csv
import functools
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, validate_email
from django.db import DatabaseError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, CustomerImport, Unit
from products.models import Product

logger = logging.getLogger(__name__)

IMPORT_COLUMNS = ("code", "company", "email")
OPTIONAL_COLUMNS = ("contact_name", "language", "country", "phone", "product", "serial_number")
# The customer's own details: a code on several lines must give the same ones (empty: not given).
CUSTOMER_FIELDS = ("company", "email", "contact_name", "language", "country", "phone")
DETAIL_FIELDS = ("company", "contact_name", "language", "country", "phone")
BATCH_SIZE = 1000
# Rows changed by one UPDATE … FROM (VALUES …) statement.
UPDATE_BATCH_SIZE = 500
# Existing rows are fetched by lists of this many values (one query each).
LOOKUP_CHUNK = 5000


def _separator_names() -> dict[str, str]:
    return {",": _("commas"), ";": _("semicolons"), "\t": _("tabs")}


@dataclass
class ImportReport:
    """What an import did, or why it wrote nothing (`refused`)."""

    encoding: str = ""
    delimiter: str = ""
    rows_total: int = 0
    rows_done: int = 0
    customers_created: int = 0
    customers_updated: int = 0
    units_created: int = 0
    rows_unchanged: int = 0
    # Rows refused, by line: (line, message). With `refused`, the lines that made the file fail.
    errors: list[tuple[int, str]] = field(default_factory=list)
    # Set when the whole file was refused: nothing was written.
    refused: str = ""

    @property
    def separator_name(self) -> str:
        return _separator_names().get(self.delimiter, self.delimiter)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImportReport:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["errors"] = [tuple(item) for item in known.get("errors", [])]
        return cls(**known)


Progress = Callable[[ImportReport], None]


class ImportRefusedError(Exception):
    """The file as a whole cannot be imported; nothing was written."""

    def __init__(self, message: str, lines: list[tuple[int, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.lines = lines or []


@dataclass
class _Row:
    line: int
    code: str
    email: str
    fields: dict[str, str]  # the customer's details, normalised; empty means "not given"
    product: Product | None
    serial: str


# Reading the file ---------------------------------------------------------------------------------


def csv_decode(content: bytes) -> tuple[str, str]:
    """Return the file's text and the name of the encoding it was read with."""
    if content.startswith(b"PK\x03\x04"):
        raise ImportRefusedError(
            _(
                "This is an Excel workbook (.xlsx), not a CSV file: in Excel, choose File > "
                "Save as > CSV (UTF-8 or separated by semicolons) and import that file."
            )
        )
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, "UTF-16") from exc
    if content.startswith(codecs.BOM_UTF8):
        try:
            return content[len(codecs.BOM_UTF8) :].decode("utf-8"), _("UTF-8 with BOM")
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, "UTF-8") from exc
    try:
        return content.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _undecodable(exc, "UTF-8 / Windows-1252") from exc
    if "\x00" in text:
        raise ImportRefusedError(_("This is not a text file: it holds binary data."))
    return text, "Windows-1252"


def _undecodable(exc: UnicodeDecodeError, encoding: str) -> ImportRefusedError:
    return ImportRefusedError(
        _(
            "The file cannot be read as %(encoding)s: byte 0x%(byte)02X at position %(position)d "
            "is not a character. Save it from Excel as CSV UTF-8 and import it again."
        )
        % {
            "encoding": encoding,
            "byte": exc.object[exc.start],
            "position": exc.start,
        }
    )


def _column(name: str) -> str:
    """A header as the import knows it: "Serial number " reads as serial_number."""
    return re.sub(r"[\s\-]+", "_", name.replace("\ufeff", "").strip().lower())


def csv_dialect(text: str) -> tuple[str, int]:
    """Return the separator of the header row and the number of lines before the header.

    Excel writes commas or, in Italian and French, semicolons; tabs come from "Unicode text".
    A first line "sep=;" (which Excel understands too) names it outright.
    """
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if re.fullmatch(r"sep=.", first_line.strip(), flags=re.IGNORECASE):
        return first_line.strip()[4], 1
    best: tuple[int, int, str] | None = None
    for delimiter in _separator_names():
        names = {_column(name) for name in next(csv.reader([first_line], delimiter=delimiter))}
        score = (sum(column in names for column in IMPORT_COLUMNS), len(names), delimiter)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is not None and best[0] == len(IMPORT_COLUMNS):
        return best[2], 0
    # No separator gives every required column: let the sniffer guess, to say what is there.
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t").delimiter, 0
    except csv.Error:
        return best[2] if best else ",", 0


def _read_rows(text: str, report: ImportReport) -> tuple[list[str], list[tuple[int, dict]]]:
    """Return the header's columns and the data rows with their line numbers."""
    if not text.strip():
        raise ImportRefusedError(_("The file is empty."))
    delimiter, skip = csv_dialect(text)
    report.delimiter = delimiter
    lines = text.splitlines(keepends=True)[skip:]
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = [_column(name) for name in next(reader)]
    except StopIteration as exc:
        raise ImportRefusedError(_("The file is empty.")) from exc
    header_line = skip + 1
    missing = [column for column in IMPORT_COLUMNS if column not in header]
    if missing:
        found = [name for name in header if name] or [_("nothing")]
        message = _(
            "Missing columns: %(missing)s. The header row (line %(line)d), read with "
            "%(separator)s as separator, has: %(found)s. The first row must name the columns "
            "code, company and email, separated by commas, semicolons or tabs."
        ) % {
            "missing": ", ".join(missing),
            "line": header_line,
            "separator": report.separator_name,
            "found": ", ".join(f"“{name}”" for name in found),
        }
        raise ImportRefusedError(message, [(header_line, message)])
    rows = []
    start = reader.line_num + skip + 1
    try:
        for values in reader:
            line, start = start, reader.line_num + skip + 1
            if not any(value.strip() for value in values):
                continue  # Excel leaves rows of empty cells (";;;;") after the data
            row = {name: value for name, value in zip(header, values, strict=False) if name}
            rows.append((line, row))
    except csv.Error as exc:
        raise ImportRefusedError(
            _("Line %(line)d cannot be read: %(error)s.") % {"line": start, "error": exc}
        ) from exc
    return header, rows


# Checking the rows --------------------------------------------------------------------------------


@functools.cache
def _field_rules(model, name: str):
    field = model._meta.get_field(name)
    choices = frozenset(str(key) for key, _label in field.flatchoices) if field.choices else None
    others = tuple(v for v in field.validators if not isinstance(v, MaxLengthValidator))
    return field, field.max_length, choices, others


def _field_clean(model, name: str, value: str) -> None:
    """Check a value as the model field would, quickly: 50,000 rows call this 300,000 times."""
    field, max_length, choices, others = _field_rules(model, name)
    if (max_length is None or len(value) <= max_length) and (choices is None or value in choices):
        for validator in others:
            validator(value)
        return
    field.clean(value, None)  # raises with Django's own, translated message


def _message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _check_row(line: int, raw: dict, products: dict) -> _Row:
    """Normalise one row and check what needs no database; raise ValidationError if bad."""
    clean = {key: (value or "").strip() for key, value in raw.items()}
    code = clean.get("code", "").upper()
    email = clean.get("email", "").lower()
    if not code:
        raise ValidationError("code: " + _("The customer code is empty."))
    user_model = get_user_model()
    try:
        _field_clean(Customer, "code", code)
        _field_clean(user_model, "username", code)
    except ValidationError as exc:
        raise ValidationError(f"code: {_message(exc)}") from exc
    try:
        validate_email(email)
        _field_clean(user_model, "email", email)
    except ValidationError as exc:
        raise ValidationError("email: " + _("Enter a valid e-mail address.")) from exc
    fields = {
        "company": clean.get("company", ""),
        "contact_name": clean.get("contact_name", ""),
        "language": clean.get("language", "").lower(),
        "country": clean.get("country", "").upper(),
        "phone": clean.get("phone", ""),
    }
    for name, value in fields.items():
        if not value:
            continue  # not given: a new customer gets the default, an existing one keeps its own
        try:
            _field_clean(Customer, name, value)
        except ValidationError as exc:
            raise ValidationError(f"{name}: {_message(exc)}") from exc
    fields["email"] = email
    product = None
    serial = clean.get("serial_number", "").upper()
    if clean.get("product"):
        product = products.get(clean["product"]) or products.get(clean["product"].lower())
        if product is None:
            raise ValidationError("product: " + _("Unknown product “%s”.") % clean["product"])
        if product.has_serial_number:
            if not serial:
                raise ValidationError("serial_number: " + _("The serial number is empty."))
            try:
                _field_clean(Unit, "serial_number", serial)
            except ValidationError as exc:
                raise ValidationError(f"serial_number: {_message(exc)}") from exc
    return _Row(line=line, code=code, email=email, fields=fields, product=product, serial=serial)


def _required(name: str) -> ValidationError:
    """The model's own message for a required field left empty."""
    try:
        Customer._meta.get_field(name).clean("", None)
    except ValidationError as exc:
        return exc
    return ValidationError(_("This field is required."))


def _field_label(name: str) -> str:
    if name == "email":
        return _("e-mail")
    return str(Customer._meta.get_field(name).verbose_name)


def _duplicates(rows: list[_Row]) -> list[tuple[int, str]]:
    """The lines that repeat a customer code with other details, or give a serial twice."""
    found: list[tuple[int, str]] = []
    known: dict[str, dict[str, tuple[str, int]]] = {}
    for row in rows:
        values = known.setdefault(row.code, {})
        for name in CUSTOMER_FIELDS:
            value = row.fields[name]
            if not value:
                continue
            if name not in values:
                values[name] = (value, row.line)
                continue
            there, there_line = values[name]
            if value != there:
                found.append(
                    (
                        row.line,
                        _(
                            "Customer code %(code)s is also on line %(other)d with another "
                            "%(field)s: “%(here)s” here, “%(there)s” there."
                        )
                        % {
                            "code": row.code,
                            "other": there_line,
                            "field": _field_label(name),
                            "here": value,
                            "there": there,
                        },
                    )
                )
                break
    owners: dict[tuple[int, str], _Row] = {}
    for row in rows:
        if row.product is None or not row.product.has_serial_number:
            continue
        owner = owners.setdefault((row.product.pk, row.serial), row)
        if owner.code != row.code:
            found.append(
                (
                    row.line,
                    _(
                        "Serial number %(serial)s of %(product)s is also on line %(other)d, "
                        "for customer %(owner)s."
                    )
                    % {
                        "serial": row.serial,
                        "product": row.product.name,
                        "other": owner.line,
                        "owner": owner.code,
                    },
                )
            )
    return sorted(found)


def _chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


# The import ---------------------------------------------------------------------------------------


def customers_import_csv(
    *, content: bytes, progress: Progress | None = None, batch_size: int = BATCH_SIZE
) -> ImportReport:
    """Import customers and their units from a CSV export; each row is all or nothing.

    A file that cannot be read, lacks a column or gives a customer code twice with different
    details is refused whole (`report.refused`): nothing is written.
    """
    report = ImportReport()
    try:
        text, report.encoding = csv_decode(content)
        _header, raw_rows = _read_rows(text, report)
        report.rows_total = len(raw_rows)
        if progress:
            progress(report)
        products = {p.code: p for p in Product.objects.all()}
        products.update({p.name.lower(): p for p in products.values()})
        rows: list[_Row] = []
        for line, raw in raw_rows:
            try:
                rows.append(_check_row(line, raw, products))
            except ValidationError as exc:
                report.errors.append((line, _message(exc)))
        duplicates = _duplicates(rows)
        if duplicates:
            raise ImportRefusedError(
                _(
                    "The same customer code comes with different details (or a serial number "
                    "with two customers) on several lines. Correct these lines and import the "
                    "file again."
                ),
                duplicates,
            )
        plans = _plan(rows, report)
        _write(plans, report, progress=progress, batch_size=batch_size)
    except ImportRefusedError as exc:
        return _refused(report, exc)
    except DatabaseError as exc:
        return _refused(
            report,
            ImportRefusedError(
                _(
                    "The database refused a row (%(error)s): someone may have changed the same "
                    "customers meanwhile. Import the file again."
                )
                % {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
            ),
        )
    report.errors.sort()
    return report


def _refused(report: ImportReport, exc: ImportRefusedError) -> ImportReport:
    report.refused = exc.message
    report.errors = sorted(exc.lines)
    report.rows_done = 0
    report.customers_created = report.customers_updated = report.units_created = 0
    report.rows_unchanged = 0
    return report


class _Existing(NamedTuple):
    """A customer already there, as the plan needs it."""

    pk: int
    code: str
    company: str
    contact_name: str
    language: str
    country: str
    phone: str
    user_id: int
    user_email: str


@dataclass
class _CodePlan:
    """What the rows of one customer code write."""

    code: str
    lines: list[int]  # its rows that are not refused
    create: dict[str, str] | None = None  # the details of a new customer
    existing: _Existing | None = None
    customer_id: int | None = None
    changes: dict[str, str] = field(default_factory=dict)
    new_email: str = ""
    units: list[_Row] = field(default_factory=list)


def _plan(rows: list[_Row], report: ImportReport) -> list[_CodePlan]:
    """Decide every write from the rows and the existing data, fetched in a few queries."""
    user_model = get_user_model()
    codes = list(dict.fromkeys(row.code for row in rows))
    # Plain tuples, not model instances: a model is built only for a customer that changes.
    existing: dict[str, _Existing] = {}
    for chunk in _chunks(codes):
        for values in Customer.objects.filter(code__in=chunk).values_list(
            "pk", "code", *DETAIL_FIELDS, "user_id", "user__email"
        ):
            existing[values[1]] = _Existing(*values)
    taken_names: set[str] = set()
    for chunk in _chunks([code for code in codes if code not in existing]):
        taken_names.update(
            user_model._default_manager.filter(username__in=chunk).values_list(
                "username", flat=True
            )
        )
    email_owner: dict[str, int] = {}
    for chunk in _chunks(list({row.email for row in rows})):
        for pk, email in (
            # The condition of the unique index on lower(email), so that it serves.
            user_model._default_manager.exclude(email="")
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=chunk)
            .values_list("pk", "email_lower")
        ):
            email_owner[email] = pk
    serials = list({row.serial for row in rows if row.product and row.product.has_serial_number})
    unit_owner: dict[tuple[int, str], int] = {}
    for chunk in _chunks(serials):
        for product_id, serial, customer_id in Unit.objects.filter(
            serial_number__in=chunk
        ).values_list("product_id", "serial_number", "customer_id"):
            unit_owner[(product_id, serial)] = customer_id

    by_code: dict[str, list[_Row]] = {}
    for row in rows:
        by_code.setdefault(row.code, []).append(row)
    plans: list[_CodePlan] = []
    claimed_emails: dict[str, str] = {}  # e-mail -> the code of this file that takes it
    # Units this file creates; the same serial for another code was refused with the file.
    planned_units: set[tuple[int, str]] = set()
    for code, code_rows in by_code.items():
        customer = existing.get(code)
        details: dict[str, str] = {}
        for row in code_rows:
            for name, value in row.fields.items():
                if value:
                    details.setdefault(name, value)
        email = details["email"]
        owner = email_owner.get(email)
        refusal = ""
        if customer is None and not details.get("company"):
            refusal = "company: " + _message(_required("company"))
        elif customer is None and code in taken_names:
            refusal = "code: " + _("A user with that username already exists.")
        elif (owner is not None and owner != (customer.user_id if customer else None)) or (
            claimed_emails.get(email, code) != code
        ):
            refusal = "email: " + _("A user with this e-mail address already exists.")
        if refusal:
            report.errors.extend((row.line, refusal) for row in code_rows)
            continue
        claimed_emails[email] = code
        plan = _CodePlan(
            code=code, lines=[], existing=customer, customer_id=customer.pk if customer else None
        )
        written: set[int] = set()
        for row in code_rows:
            if row.product is not None and row.product.has_serial_number:
                key = (row.product.pk, row.serial)
                holder = unit_owner.get(key)
                if holder is not None and (customer is None or holder != customer.pk):
                    message = _("Serial %s belongs to another customer.") % row.serial
                    report.errors.append((row.line, f"serial_number: {message}"))
                    continue
                if holder is None and key not in planned_units:
                    planned_units.add(key)  # a second row with it changes nothing
                    plan.units.append(row)
                    written.add(row.line)
            plan.lines.append(row.line)
        if not plan.lines:
            continue  # every row refused: the customer is not written either
        if customer is None:
            plan.create = details
            report.customers_created += 1
            written.add(plan.lines[0])
        else:
            plan.changes = {
                name: details[name]
                for name in DETAIL_FIELDS
                if details.get(name) and getattr(customer, name) != details[name]
            }
            plan.new_email = email if customer.user_email != email else ""
            if plan.changes or plan.new_email:
                report.customers_updated += 1
                written.add(plan.lines[0])
        report.units_created += len(plan.units)
        report.rows_unchanged += sum(1 for line in plan.lines if line not in written)
        plans.append(plan)
    return plans


def _write(
    plans: list[_CodePlan], report: ImportReport, *, progress: Progress | None, batch_size: int
) -> None:
    """Write the plans in batches inside one transaction, reporting progress after each."""
    user_model = get_user_model()
    now = timezone.now()
    # Refused rows are done from the start: nothing of theirs is written.
    report.rows_done = len({line for line, _text in report.errors})
    with transaction.atomic():
        for batch in _chunks(plans, batch_size):
            new = [plan for plan in batch if plan.create is not None]
            users = [
                user_model(
                    username=plan.code,
                    email=plan.create["email"],
                    first_name=plan.create.get("contact_name", "")[:150],
                    password=_unusable_password(),
                )
                for plan in new
            ]
            user_model._default_manager.bulk_create(users)
            customers = [
                Customer(
                    user=user,
                    code=plan.code,
                    company=plan.create.get("company", ""),
                    contact_name=plan.create.get("contact_name", ""),
                    language=plan.create.get("language") or "it",
                    country=plan.create.get("country", ""),
                    phone=plan.create.get("phone", ""),
                )
                for plan, user in zip(new, users, strict=True)
            ]
            Customer.objects.bulk_create(customers)
            if any(customer.pk is None for customer in customers):  # no RETURNING here
                ids = dict(
                    Customer.objects.filter(code__in=[c.code for c in customers]).values_list(
                        "code", "pk"
                    )
                )
                for customer in customers:
                    customer.pk = ids[customer.code]
            for plan, customer in zip(new, customers, strict=True):
                plan.customer_id = customer.pk

            changed = [plan for plan in batch if plan.changes or plan.new_email]
            for names in {tuple(sorted(plan.changes)) for plan in changed}:
                _update_rows(
                    Customer,
                    [*names, "updated_at"],
                    [
                        (plan.existing.pk, *(plan.changes[name] for name in names), now)
                        for plan in changed
                        if tuple(sorted(plan.changes)) == names
                    ],
                )
            _update_rows(
                user_model,
                ["email"],
                [(plan.existing.user_id, plan.new_email) for plan in changed if plan.new_email],
            )

            Unit.objects.bulk_create(
                [
                    Unit(
                        customer_id=plan.customer_id,
                        product=row.product,
                        serial_number=row.serial,
                    )
                    for plan in batch
                    for row in plan.units
                ]
            )
            report.rows_done += sum(len(plan.lines) for plan in batch)
            if progress:
                progress(report)


def _unusable_password() -> str:
    """What set_unusable_password() stores, from one random draw instead of forty."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def _update_rows(model, fields: list[str], rows: list[tuple]) -> None:
    """Set `fields` of each row given as (pk, *values): one UPDATE … FROM (VALUES …) per batch.

    bulk_update builds a CASE expression per object and field in Python, which took most of
    the time of an import that changes 50,000 customers; PostgreSQL and SQLite (3.33+) both
    join a VALUES list instead. VALUES names its columns column1, column2… on both.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk_column = quote(model._meta.pk.column)
    columns = [model._meta.get_field(name).column for name in fields]
    assignments = ", ".join(
        f"{quote(column)} = v.column{index}" for index, column in enumerate(columns, start=2)
    )
    placeholder = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    for batch in _chunks(rows, UPDATE_BATCH_SIZE):
        values = ", ".join([placeholder] * len(batch))
        params = [
            model._meta.get_field(name).get_db_prep_save(value, connection) if index else value
            for row in batch
            for index, (name, value) in enumerate(zip(["pk", *fields], row, strict=True))
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v "  # noqa: S608
                f"WHERE {table}.{pk_column} = v.column1",
                params,
            )


# The admin's upload, imported by a Celery worker ------------------------------------------------

# A Databank export of 50,000 customers is about 6 MB.
IMPORT_MAX_SIZE = 50 * 1024 * 1024
# Errors kept in a stored report; the count says how many there were in all.
REPORT_MAX_ERRORS = 1000
PROGRESS_KEY = "customers:import-progress:{pk}"


def customer_import_run(*, customer_import_id: int) -> CustomerImport | None:
    """Import an uploaded file, reporting progress through the cache; idempotent."""
    with transaction.atomic():
        customer_import = (
            CustomerImport.objects.select_for_update().filter(pk=customer_import_id).first()
        )
        # Finished already (a message delivered twice): nothing to do. A RUNNING one is run
        # again: its worker died, and its transaction with it.
        if customer_import is None or customer_import.is_finished:
            return customer_import
        customer_import.status = CustomerImport.Status.RUNNING
        customer_import.save(update_fields=["status", "updated_at"])
    key = PROGRESS_KEY.format(pk=customer_import.pk)

    def progress(report: ImportReport) -> None:
        cache.set(key, {"done": report.rows_done, "total": report.rows_total}, 24 * 3600)

    try:
        with customer_import.file.open("rb") as stream:
            content = stream.read()
        report = customers_import_csv(content=content, progress=progress)
    except Exception:
        logger.exception("Customer import %s failed", customer_import.pk)
        report = ImportReport(
            refused=_("The import stopped on an unexpected error; nothing was imported.")
        )
        status = CustomerImport.Status.FAILED
    else:
        status = CustomerImport.Status.REFUSED if report.refused else CustomerImport.Status.DONE
    stored = report.as_dict()
    stored["errors_total"] = len(report.errors)
    stored["errors"] = stored["errors"][:REPORT_MAX_ERRORS]
    customer_import.status = status
    customer_import.report = stored
    customer_import.finished_at = timezone.now()
    customer_import.file.delete(save=False)
    customer_import.save(update_fields=["status", "report", "finished_at", "file", "updated_at"])
    cache.delete(key)
    return customer_import
