import io
import logging
from contextlib import contextmanager, suppress
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from core.models import TermsVersion
from core.roles import MANAGERS, OPERATORS, roles_sync
from customers.models import Customer, Member, Unit
from customers.services import (
    customer_create,
    customer_suspend,
    invitation_accept,
    invitation_create,
    unit_register,
    unit_report_lost,
)
from products.models import Product
from schedule.gate import service_status
from schedule.models import ServiceHours
from tickets.models import Attachment, Ticket
from tickets.services import (
    ticket_close,
    ticket_create,
    ticket_mark_duplicate,
    ticket_reply_customer,
    ticket_reply_staff,
    ticket_take,
)
from tickets.uploads import clean_upload

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105 - printed for the demo on purpose

# One paragraph a line: the terms page turns line breaks into <br>.
DEMO_TERMS = "\n\n".join(
    [
        "Demo terms of the technical support service (version DEMO-1).",
        "The managers publish the real terms from the administration: Portal > Terms versions.",
        "1. Support covers KESSv2, K-TAG, ECM Titanium, Powergate3+ and the Databank.",
        "2. Open one ticket per problem; every ticket gets a sequential number, and priority "
        "goes by the time of receipt. Support is given in Italian and English.",
        "3. Give every diagnostic detail the form asks for; you are responsible for errors and "
        "omissions.",
        "4. Service hours are shown on the home page; no service on holidays, closures and "
        "maintenance.",
    ]
)


# Mario Rossi's colleague: a member of DEMO01 who sees only the tickets he opened.
MEMBER_EMAIL = "marco.bianchi@example.com"

CUSTOMERS = [
    ("DEMO01", "Officina Rossi S.n.c.", "mario.rossi@example.com", "Mario Rossi", "it", "IT"),
    ("DEMO02", "Garage Dupont", "claire.dupont@example.com", "Claire Dupont", "fr", "FR"),
    ("DEMO03", "Smith Tuning Ltd", "john.smith@example.com", "John Smith", "en", "GB"),
]


class Command(BaseCommand):
    help = (
        "Create the demo world (products, customers, units, tickets in every status, staff), "
        "then print the log-ins and whether the service takes tickets right now."
    )

    def handle(self, *args, **options):
        # The demo's e-mails go where the settings say (files under var/mail/ locally); the
        # eager Celery tasks that send them would add a log line each before the log-ins, and
        # kombu a warning about the in-memory broker's missing host name.
        with _quiet("celery", "kombu"), transaction.atomic():
            created = self.seed()
        self.stdout.write(self.closing_lines(created=created))

    def closing_lines(self, *, created: bool) -> str:
        """The log-ins, the state of the service and where the e-mails went: the last lines."""
        base = settings.PORTAL_BASE_URL
        style = self.style
        rule = "-" * 78
        people = [
            (code, email, f"{company} ({LANGUAGE_NAMES[language]})")
            for code, company, email, _contact, language, _country in CUSTOMERS
        ]
        people.append(
            ("DEMO01", MEMBER_EMAIL, "Marco Bianchi, Mario Rossi's colleague: sees his own tickets")
        )
        people.append(("DEMO04", "suspended@example.com", "Suspended Motors: reads, cannot write"))
        lines = [
            "",
            rule,
            style.SUCCESS("Demo world ready." if created else "Demo world already there.")
            + f"  Portal: {base}/   Admin: {base}/admin/",
            "",
            style.MIGRATE_HEADING(
                f"Customers log in with their code or e-mail, password {DEMO_PASSWORD}"
            ),
            *(f"  {code}  {email:<28} {who}" for code, email, who in people),
            "  (Mario Rossi, DEMO01, invites colleagues under People; the e-mails go to the folder"
            " below.)",
            style.MIGRATE_HEADING("Staff log in to the admin"),
            f"  operator / {DEMO_PASSWORD}    manager / {DEMO_PASSWORD}",
            "",
            *self.service_lines(),
            "",
            _mail_line(),
            rule,
        ]
        return "\n".join(lines)

    def service_lines(self) -> list[str]:
        """Say whether customers can open tickets and reply now, and how to try it if not."""
        status = service_status()
        hours = _hours_text()
        if status.demo:
            return [
                self.style.WARNING(
                    "DEMO_SERVICE_ALWAYS_OPEN is on: customers open tickets and reply at any "
                    "hour (local settings only)."
                ),
                f"  The real service hours: {hours}.",
            ]
        if status.accepts_tickets:
            until = f" until {status.until:%H:%M}" if status.until else ""
            return [
                f"The service is open now{until}: customers can open tickets and reply.",
                f"  Service hours: {hours}; outside them customers can only read.",
                "  To try every step at any hour: DEMO_SERVICE_ALWAYS_OPEN=1 make run",
            ]
        lines = [
            self.style.WARNING(f"The service is closed now: {status.reason}"),
            "  Customers can read their tickets but cannot open tickets or reply until it opens.",
        ]
        if status.next_opening:
            when = status.next_opening
            lines.append(f"  It opens again on {when:%A} {when.day} {when:%B %Y, %H:%M}.")
        return [
            *lines,
            f"  Service hours: {hours}.",
            "  To try opening tickets and replying now, start the demo with the service open at",
            "  all hours (read by the local settings only, never in production):",
            self.style.SUCCESS("    DEMO_SERVICE_ALWAYS_OPEN=1 make run"),
            "  or log in as the manager and change the hours in the admin:",
            "  Service calendar > Service hours.",
        ]

    def seed(self) -> bool:
        if Customer.objects.filter(code="DEMO01").exists():
            return False
        user_model = get_user_model()
        manager = user_model.objects.create_user(
            "manager",
            "manager@example.com",
            DEMO_PASSWORD,
            is_staff=True,
            first_name="Giulia",
            last_name="Bianchi",
        )
        operator = user_model.objects.create_user(
            "operator",
            "operator@example.com",
            DEMO_PASSWORD,
            is_staff=True,
            first_name="Luca",
            last_name="Verdi",
        )
        # Staff get their rights from the groups of core.roles, not from being superusers.
        roles_sync()
        operator.groups.add(Group.objects.get(name=OPERATORS))
        manager.groups.add(Group.objects.get(name=MANAGERS))
        terms = TermsVersion.objects.filter(effective_from__lte=timezone.now()).first()
        if terms is None:
            terms = TermsVersion.objects.create(
                version="DEMO-1",
                effective_from=timezone.now() - timedelta(days=365),
                text_it=DEMO_TERMS,
                text_en=DEMO_TERMS,
                text_fr=DEMO_TERMS,
                created_by=manager,
            )
        products = {p.code: p for p in Product.objects.all()}
        for code, version in [
            ("kessv2-master", "3.213"),
            ("ktag-master", "7.160"),
            ("ecm-titanium", "1.61"),
            ("powergate3-plus", "4.02"),
        ]:
            Product.objects.filter(code=code).update(latest_version=version)
        products = {p.code: p for p in Product.objects.all()}

        customers = {
            code: customer_create(
                code=code,
                company=company,
                email=email,
                contact_name=contact,
                language=language,
                country=country,
                password=DEMO_PASSWORD,
            )
            for code, company, email, contact, language, country in CUSTOMERS
        }
        rossi, dupont, smith = customers["DEMO01"], customers["DEMO02"], customers["DEMO03"]
        kess = unit_register(
            customer=rossi, product=products["kessv2-master"], serial_number="KM100123"
        )
        ktag = unit_register(
            customer=rossi, product=products["ktag-master"], serial_number="KT200456"
        )
        ecm = unit_register(
            customer=dupont, product=products["ecm-titanium"], serial_number="ECM3001"
        )
        pg3 = unit_register(
            customer=smith, product=products["powergate3-plus"], serial_number="PG3-77001"
        )
        lost = unit_register(
            customer=smith, product=products["kessv2-slave"], serial_number="KS900321"
        )

        instants = iter(_open_instants(count=15))

        def open_ticket(customer, unit, subject, **extra):
            fields = {
                "vehicle_description": "Fiat Punto 1.3 Multijet 2012",
                "vehicle_identification": "ZFA19900000123456",
                "ecu_description": "Bosch EDC16C39",
                "ecu_identification": "0281013409",
                "software_version": "3.213",
                "error_message": "Error 0x2A: checksum not corrected",
                "operations": "Connected OBD, read ok, write failed at 87%. Retried twice.",
            }
            fields.update(extra)
            return ticket_create(
                customer=customer,
                product=unit.product if unit else products["databank"],
                unit=unit,
                kind=Ticket.Kind.PROBLEM,
                language="it" if customer.language == "it" else "en",
                subject=subject,
                description=f"{subject}. The problem is reproducible.",
                terms_version=terms,
                confirmed_new_problem=True,
                at=next(instants),
                **fields,
            )

        open_ticket(
            rossi,
            kess,
            "Write fails at 87% on EDC16C39",
            files=[(Attachment.Kind.SCREENSHOT, clean_upload(_demo_screenshot()))],
        )
        taken = open_ticket(
            rossi, ktag, "Boot mode connection not detected", software_version="7.100"
        )
        ticket_take(ticket=taken, operator=operator)
        waiting = open_ticket(dupont, ecm, "Driver not found for Siemens SID807")
        ticket_take(ticket=waiting, operator=operator)
        ticket_reply_staff(
            ticket=waiting,
            operator=operator,
            new_status=Ticket.Status.WAITING_CUSTOMER,
            body="Please send the LOG file of the last operation and a photo of the ECU label.",
        )
        answered = open_ticket(smith, pg3, "Powergate3+ update stops at 40%")
        ticket_reply_staff(
            ticket=answered,
            operator=operator,
            body="Please connect the Powergate3+ to another USB port and run the update again.",
        )
        ticket_reply_staff(
            ticket=answered,
            operator=operator,
            is_public=False,
            body="Known issue with USB hubs, see internal KB 112.",
        )
        closed = open_ticket(rossi, kess, "Checksum warning after reading")
        ticket_reply_staff(
            ticket=closed, operator=operator, body="Update to 3.213, then read again."
        )
        ticket_reply_customer(
            ticket=closed, customer=rossi, body="Solved, thank you.", at=next(instants)
        )
        ticket_close(ticket=closed, user=rossi.user)
        original = open_ticket(dupont, ecm, "Cannot open file from the Databank")
        duplicate = open_ticket(dupont, ecm, "Databank file will not open", error_message="Err 12")
        ticket_mark_duplicate(ticket=duplicate, original=original, operator=operator)
        open_ticket(smith, None, "Databank: missing file for BMW 320d", software_version="")
        # A colleague of Mario Rossi's, invited and joined, who opened a ticket of his own.
        invitation = invitation_create(
            customer=rossi, by=rossi.user, email=MEMBER_EMAIL, scope=Member.Scope.OWN
        )
        marco = invitation_accept(
            invitation=invitation, first_name="Marco", last_name="Bianchi", password=DEMO_PASSWORD
        )
        open_ticket(
            rossi, ktag, "K-TAG does not read the TC1797 in boot mode", opened_by=marco.user
        )
        unit_report_lost(unit=lost, status=Unit.Status.STOLEN, details="Van broken into on 2 May.")
        ticket_create(
            customer=smith,
            product=lost.product,
            unit=lost,
            kind=Ticket.Kind.LOSS_REPORT,
            language="en",
            subject="KESSv2 Slave stolen",
            description="Stolen from our van.",
            terms_version=terms,
            at=next(instants),
        )
        # The suspended workshop had tickets before its suspension: it still reads them (and
        # their answers) but can no longer reply, open tickets or register units.
        suspended = customer_create(
            code="DEMO04",
            company="Suspended Motors",
            email="suspended@example.com",
            contact_name="Paolo Neri",
            language="it",
            country="IT",
            password=DEMO_PASSWORD,
        )
        ktag_slave = unit_register(
            customer=suspended, product=products["ktag-slave"], serial_number="KTS-55012"
        )
        remote = open_ticket(
            suspended,
            ktag_slave,
            "K-TAG Slave: protocol not supported after update",
            software_version="7.020",
            ecu_description="Siemens SID208",
        )
        ticket_take(ticket=remote, operator=operator)
        ticket_reply_staff(
            ticket=remote,
            operator=operator,
            new_status=Ticket.Status.WAITING_CUSTOMER,
            body="During the remote session we found software that is not ours on this tool. "
            "Your account is suspended (terms, §5): please contact the sales office.",
        )
        earlier = open_ticket(suspended, ktag_slave, "Which cable for boot mode on a Tricore ECU?")
        ticket_reply_staff(
            ticket=earlier,
            operator=operator,
            body="Use the boot-mode cable and the pin-out in the K-TAG manual, chapter 4.",
        )
        ticket_close(ticket=earlier, user=operator)
        customer_suspend(
            customer=suspended,
            reason="Counterfeit software found during a remote session (terms, §5).",
        )
        return True


def _demo_screenshot() -> SimpleUploadedFile:
    """Draw a fake error dialog, so the demo shows a thumbnail."""
    image = Image.new("RGB", (640, 360), "#dfe3e8")
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 90, 520, 270), fill="white", outline="#8a929c", width=2)
    draw.rectangle((120, 90, 520, 120), fill="#b3261e")
    draw.text((135, 98), "KESSv2 - Error", fill="white")
    draw.text((140, 150), "Error 0x2A: checksum not corrected", fill="black")
    draw.text((140, 180), "Write aborted at 87%", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile("error.png", buffer.getvalue(), content_type="image/png")


def _open_instants(*, count: int) -> list[datetime]:
    """Recent instants when the service was open, oldest first, so the demo obeys the calendar."""
    zone = ZoneInfo(settings.SERVICE_TIME_ZONE)
    day = timezone.localdate(timezone=zone) - timedelta(days=1)
    found: list[datetime] = []
    while len(found) < count and day > timezone.localdate(timezone=zone) - timedelta(days=120):
        for hour_minute in (time(9, 15), time(11, 40), time(15, 5), time(16, 50)):
            instant = datetime.combine(day, hour_minute, tzinfo=zone)
            if service_status(at=instant).accepts_tickets:
                found.append(instant)
        day -= timedelta(days=1)
    return sorted(found)[-count:]


LANGUAGE_NAMES = {"it": "Italian", "fr": "French", "en": "English"}
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@contextmanager
def _quiet(*names: str):
    """Let the named loggers say only errors for the block's length."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _hours_text() -> str:
    """The weekly service hours in one line: "Mon-Fri 08:30-12:30, 14:00-18:00 (Europe/Rome)"."""
    by_day: dict[int, list[str]] = {}
    for hours in ServiceHours.objects.order_by("weekday", "opens_at"):
        by_day.setdefault(hours.weekday, []).append(
            f"{hours.opens_at:%H:%M}-{hours.closes_at:%H:%M}"
        )
    groups: list[tuple[int, int, list[str]]] = []
    for day in sorted(by_day):
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == by_day[day]:
            groups[-1] = (groups[-1][0], day, by_day[day])
        else:
            groups.append((day, day, by_day[day]))
    if not groups:
        return "none set"
    parts = [
        (WEEKDAY_NAMES[first] if first == last else f"{WEEKDAY_NAMES[first]}-{WEEKDAY_NAMES[last]}")
        + " "
        + ", ".join(spans)
        for first, last, spans in groups
    ]
    return "; ".join(parts) + f" ({settings.SERVICE_TIME_ZONE} time)"


def _mail_line() -> str:
    """Where the demo's e-mails (receipts, answers, status changes) can be read."""
    backend = settings.EMAIL_BACKEND
    if backend.endswith("filebased.EmailBackend"):
        folder = Path(settings.EMAIL_FILE_PATH)
        with suppress(ValueError):
            folder = folder.relative_to(Path.cwd())
        return f"E-mails to customers and staff are written to {folder}/, one file per message."
    if backend.endswith("console.EmailBackend"):
        return "E-mails to customers and staff are printed on this console."
    if backend.endswith("locmem.EmailBackend"):
        return "E-mails to customers and staff are kept in memory (test settings)."
    return "E-mails to customers and staff are sent through EMAIL_URL."
