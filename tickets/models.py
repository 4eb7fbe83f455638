import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel, choice_label


class TicketCounter(models.Model):
    """The single row that hands out ticket numbers; locked for the length of one insert."""

    name = models.CharField(max_length=20, primary_key=True)
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket counter")
        verbose_name_plural = _("ticket counters")

    def __str__(self):
        return f"{self.name}: {self.last_number}"


class Ticket(TimeStampedModel):
    """A customer's request for technical support about one problem on one product."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        TAKEN = "taken", _("Taken in charge")
        WAITING_CUSTOMER = "waiting", _("Waiting for the customer")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    class Kind(models.TextChoices):
        PROBLEM = "problem", _("Technical problem")
        LOSS_REPORT = "loss", _("Report of loss or theft")

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_UPDATE = "next_update", _("Next update")

    OPEN_STATUSES = (Status.NEW, Status.TAKEN, Status.WAITING_CUSTOMER, Status.ANSWERED)
    # The customer has the ball: the service-target clock is paused (tickets.targets).
    CUSTOMER_STATUSES = (Status.WAITING_CUSTOMER, Status.ANSWERED)

    number = models.PositiveBigIntegerField(_("number"), unique=True, editable=False)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    # The person of the workshop who opened it: its owner or a member (customers.Member). A
    # member who sees only their own tickets sees these (tickets.selectors.ticket_scope), and
    # hears of every update by e-mail as well as the customer code's address.
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    unit = models.ForeignKey(
        "customers.Unit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="tickets",
        null=True,
        blank=True,
    )
    # Copied from the unit at submission: the ticket keeps what the customer saw.
    serial_number = models.CharField(_("serial number"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PROBLEM)
    language = models.CharField(
        _("language"), max_length=2, choices=settings.TICKET_LANGUAGES, default="it"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    subject = models.CharField(_("subject"), max_length=150)
    vehicle_description = models.CharField(_("vehicle"), max_length=200, blank=True)
    vehicle_identification = models.CharField(
        _("vehicle identification"), max_length=100, blank=True
    )
    ecu_description = models.CharField(_("ECU"), max_length=200, blank=True)
    ecu_identification = models.CharField(_("ECU identification"), max_length=100, blank=True)
    software_version = models.CharField(_("software version"), max_length=40, blank=True)
    software_outdated = models.BooleanField(_("older than the latest version"), default=False)
    description = models.TextField(_("description of the problem"))
    error_message = models.TextField(_("error message"), blank=True)
    operations = models.TextField(_("operations performed and attempted fixes"), blank=True)
    terms_version = models.ForeignKey(
        "core.TermsVersion",
        verbose_name=_("terms accepted"),
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    terms_accepted_at = models.DateTimeField(_("terms accepted at"))
    received_at = models.DateTimeField(_("received at"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
        null=True,
        blank=True,
    )
    taken_at = models.DateTimeField(_("taken in charge at"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.PROTECT,
        related_name="duplicates",
        null=True,
        blank=True,
    )
    # The service-target clock (tickets.targets keeps it): which promise runs, since when, how
    # much service time it used before a pause, and when it falls due (null while paused).
    due_target = models.CharField(
        _("service target"), max_length=15, choices=Target.choices, blank=True
    )
    due_from = models.DateTimeField(_("target clock running since"), null=True, blank=True)
    due_used = models.DurationField(
        _("target time used before a pause"), default=timedelta(0), editable=False
    )
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    due_warned_at = models.DateTimeField(_("warned of the target at"), null=True, blank=True)
    target_missed_at = models.DateTimeField(_("service target missed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-received_at"]
        permissions = [("view_dashboard", _("Can view the managers' dashboard"))]
        indexes = [
            # The customer's own list, newest first, optionally by status.
            models.Index(fields=["customer", "-received_at"], name="ticket_customer_recv_idx"),
            models.Index(
                fields=["customer", "status", "-received_at"], name="ticket_cust_status_idx"
            ),
            # A member's own tickets (tickets.selectors.ticket_scope), newest first.
            models.Index(fields=["opened_by", "-received_at"], name="ticket_opener_recv_idx"),
            # The operators' queue: open tickets, oldest first (number breaks ties).
            models.Index(
                fields=["received_at", "number"],
                name="ticket_queue_idx",
                condition=~models.Q(status="closed"),
            ),
            # The queue filtered by status (closed included), and take-next on new tickets.
            models.Index(
                fields=["status", "received_at", "number"], name="ticket_queue_status_idx"
            ),
            # The queue filtered by operator ("mine", "unassigned") or by product.
            models.Index(
                fields=["assigned_to", "received_at", "number"],
                name="ticket_queue_operator_idx",
                condition=~models.Q(status="closed"),
            ),
            models.Index(
                fields=["product", "received_at", "number"],
                name="ticket_queue_product_idx",
                condition=~models.Q(status="closed"),
            ),
            # Every status in receipt order ("all" in the queue), the dashboard's weekly counts
            # and its sample of recent first responses.
            models.Index(fields=["received_at", "number"], name="ticket_received_idx"),
            # The dashboard's tickets taken in charge per operator over recent weeks.
            models.Index(
                fields=["taken_at", "assigned_to"],
                name="ticket_taken_idx",
                condition=models.Q(taken_at__isnull=False),
            ),
            # The queue sorted and filtered by due instant, and the targets' beat task.
            models.Index(
                fields=["due_at", "number"],
                name="ticket_due_idx",
                condition=~models.Q(status="closed") & models.Q(due_at__isnull=False),
            ),
            models.Index(fields=["unit", "status"], name="ticket_unit_status_idx"),
            models.Index(fields=["serial_number"], name="ticket_serial_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="closed") | models.Q(closed_at__isnull=False),
                name="ticket_closed_has_closed_at",
            ),
            models.CheckConstraint(
                condition=models.Q(status="new")
                | models.Q(assigned_to__isnull=False)
                | models.Q(status="closed"),
                name="ticket_worked_has_operator",
            ),
        ]

    def __str__(self):
        return f"#{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    @property
    def status_label(self) -> str:
        """get_status_display(), at a fraction of its cost (core.models.choice_label)."""
        return choice_label(self.Status, self.status)

    @property
    def kind_label(self) -> str:
        return choice_label(self.Kind, self.kind)


class TicketSearch(models.Model):
    """What staff's full-text search reads for one ticket (tickets.selectors.ticket_search).

    A table of its own, not columns of Ticket: the queue reads the ticket table on every page and
    keeps it narrow, and a reply rewrites this row without a second copy of the ticket. PostgreSQL
    keeps both columns current with the triggers of migration 0014 (a ticket's text, each message
    and each attached file's name, whatever path wrote them); on SQLite the table stays empty and
    the search falls back to plain substring matching.
    """

    ticket = models.OneToOneField(
        Ticket,
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="search",
    )
    # Italian and English vectors concatenated, weighted: subject A, the problem (description,
    # error message, operations, vehicle, ECU) B, messages C, file names D. GIN-indexed.
    document = SearchVectorField(_("search document"), null=True)
    # Serial number, customer code, vehicle and ECU identifications, upper case: the trigram
    # (pg_trgm) GIN index finds a part of any of them ("KS0012", "0012").
    codes = models.TextField(_("codes"), blank=True, default="")

    class Meta:
        verbose_name = _("ticket search document")
        verbose_name_plural = _("ticket search documents")

    def __str__(self):
        return f"#{self.ticket_id}"


class TicketEvent(models.Model):
    """One line of a ticket's history; messages are events that carry a body."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        MESSAGE = "message", _("Message")
        NOTE = "note", _("Internal note")
        ATTACHMENT = "attachment", _("Attachment added")
        STATUS = "status", _("Status changed")
        ASSIGNED = "assigned", _("Taken in charge")
        DUPLICATE = "duplicate", _("Marked as duplicate")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")
        REMOTE_REQUEST = "remote_request", _("Remote assistance requested")
        REMOTE_SUBMITTED = "remote_submitted", _("Remote-access details sent")
        TARGET_WARNING = "target_warning", _("Service target about to be missed")

    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    is_public = models.BooleanField(
        _("visible to the customer"),
        default=True,
        help_text=_("Internal notes are seen by staff only and never e-mailed."),
    )
    body = models.TextField(_("text"), blank=True)
    old_status = models.CharField(_("old status"), max_length=10, blank=True)
    new_status = models.CharField(_("new status"), max_length=10, blank=True)
    # A default, not auto_now_add: a submission back-dated with `at=` keeps its own instant.
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_time_idx")]

    def __str__(self):
        return f"#{self.ticket_id} {self.kind_label}"

    @property
    def kind_label(self) -> str:
        """get_kind_display(), at a fraction of its cost (core.models.choice_label)."""
        return choice_label(self.Kind, self.kind)

    @property
    def by_staff(self) -> bool:
        return bool(self.author_id and self.author.is_staff)


def attachment_path(instance, filename):
    # The stored name is generated; the customer's name is kept for display only.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"attachments/{instance.created_on_path}/{uuid.uuid4().hex}.{suffix}"


def thumbnail_path(instance, filename):
    return f"thumbnails/{instance.created_on_path}/{uuid.uuid4().hex}.jpg"


class Attachment(models.Model):
    """A file a customer or an operator attached; staged (no ticket yet) while a form is pending."""

    class Kind(models.TextChoices):
        SCREENSHOT = "screenshot", _("Screenshot of the error")
        ECU_PHOTO = "ecu_photo", _("Photo of the ECU")
        CONNECTION_PHOTO = "connection_photo", _("Photo of the connections")
        LOG = "log", _("Tool LOG file")
        OTHER = "other", _("Other file")
        # A file added to a message (the customer's reply, an operator's answer) has no field
        # that says what it shows: it is labelled by its type.
        IMAGE = "image", _("Image")
        DOCUMENT = "document", _("Document")

    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="attachments",
        null=True,
        blank=True,
    )
    event = models.ForeignKey(
        "tickets.TicketEvent",
        verbose_name=_("event"),
        on_delete=models.SET_NULL,
        related_name="attachments",
        null=True,
        blank=True,
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    thumbnail = models.FileField(
        _("thumbnail"), upload_to=thumbnail_path, max_length=200, blank=True
    )
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    # While staged: the one form (a page's new-ticket or reply form) it was sent with. Only that
    # form offers it again; another form, or the same page opened anew, never sees it.
    form_token = models.CharField(
        _("form it was sent with"), max_length=32, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="attachment_ticket_idx"),
            # The user's staged files (the quota), and those of one form (the retry).
            models.Index(
                fields=["uploaded_by", "form_token", "created_at"],
                name="attachment_staged_form_idx",
                condition=models.Q(ticket__isnull=True),
            ),
        ]

    def __str__(self):
        return self.original_name

    @property
    def kind_label(self) -> str:
        """get_kind_display(), at a fraction of its cost (core.models.choice_label)."""
        return choice_label(self.Kind, self.kind)

    @property
    def created_on_path(self) -> str:
        return (self.created_at or timezone.now()).strftime("%Y/%m")


class RemoteAccessRequest(TimeStampedModel):
    """An operator's request for a TeamViewer session and the customer's answer (terms §5, §6).

    The TeamViewer ID and the password are stored only as Fernet tokens (tickets.crypto) and wiped
    together when the ticket closes or the time limit passes; the row stays as the record of what
    happened.
    """

    class EraseReason(models.TextChoices):
        CLOSED = "closed", _("Ticket closed")
        EXPIRED = "expired", _("Time limit reached")
        REPLACED = "replaced", _("Replaced by a new request")

    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="remote_access_requests",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    authorisation_confirmed_at = models.DateTimeField(
        _("remote-access authorisation confirmed at"), null=True, blank=True
    )
    backup_confirmed_at = models.DateTimeField(_("backup confirmed at"), null=True, blank=True)
    teamviewer_id_token = models.BinaryField(_("encrypted TeamViewer ID"), null=True, blank=True)
    password_token = models.BinaryField(_("encrypted password"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("details sent at"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    erase_reason = models.CharField(
        _("why erased"), max_length=10, choices=EraseReason.choices, blank=True
    )

    class Meta:
        verbose_name = _("remote-access request")
        verbose_name_plural = _("remote-access requests")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["ticket", "-requested_at"], name="remote_ticket_idx"),
            # The sweeper looks for live secrets older than the time limit.
            models.Index(
                fields=["submitted_at"],
                name="remote_live_secret_idx",
                condition=models.Q(erased_at__isnull=True, submitted_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(erased_at__isnull=True),
                name="remote_one_live_request_per_ticket",
            ),
            models.CheckConstraint(
                condition=models.Q(erased_at__isnull=True)
                | (
                    models.Q(password_token__isnull=True)
                    & models.Q(teamviewer_id_token__isnull=True)
                ),
                name="remote_erased_has_no_secret",
            ),
        ]

    def __str__(self):
        return f"#{self.ticket_id} {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def is_pending(self) -> bool:
        return self.erased_at is None and self.submitted_at is None

    @property
    def is_submitted(self) -> bool:
        return self.erased_at is None and self.submitted_at is not None


class RemoteAccessReveal(models.Model):
    """The audit row written each time an operator is shown a customer's remote-access password."""

    request = models.ForeignKey(
        "tickets.RemoteAccessRequest",
        verbose_name=_("remote-access request"),
        on_delete=models.CASCADE,
        related_name="reveals",
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    revealed_at = models.DateTimeField(_("revealed at"), default=timezone.now)

    class Meta:
        verbose_name = _("remote-access password reveal")
        verbose_name_plural = _("remote-access password reveals")
        ordering = ["-revealed_at", "-pk"]
        indexes = [models.Index(fields=["request", "revealed_at"], name="remote_reveal_idx")]

    def __str__(self):
        return f"{self.request} · {self.operator_id} · {self.revealed_at:%Y-%m-%d %H:%M}"


def inbound_mail_path(instance, filename):
    return f"mail/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.eml"


class InboundMail(models.Model):
    """A message read from the support mailbox, and what became of it (tickets.inbound).

    Every message read is kept, with its original, whatever its outcome: a reply added to its
    ticket points to the event it became; any other stays here for staff to read. The Message-ID
    is unique: a message read twice is recognised and never added twice.
    """

    class Outcome(models.TextChoices):
        ADDED = "added", _("Added to the ticket")
        UNMATCHED = "unmatched", _("Matches no ticket")
        WRONG_SENDER = "wrong_sender", _("Not from the ticket's customer")
        AUTOMATIC = "automatic", _("Automatic message, ignored")
        SERVICE_CLOSED = "service_closed", _("Service closed: not added")
        SUSPENDED = "suspended", _("Customer suspended: not added")
        UNAUTHENTICATED = "unauthenticated", _("Sender not authenticated: not added")
        TICKET_CLOSED = "ticket_closed", _("Ticket closed: not added")
        REFUSED = "refused", _("Refused")

    class Answer(models.TextChoices):
        NONE = "", _("None")
        PENDING = "pending", _("To be sent")
        SENT = "sent", _("Sent")

    message_id = models.CharField(_("Message-ID"), max_length=998, unique=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    reason = models.TextField(_("reason"), blank=True)
    text = models.TextField(_("reply text"), blank=True)
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_mail",
    )
    event = models.OneToOneField(
        TicketEvent,
        verbose_name=_("event"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_mail",
    )
    original = models.FileField(_("original message"), upload_to=inbound_mail_path, max_length=200)
    size = models.PositiveIntegerField(_("size"), default=0)
    answer = models.CharField(
        _("automatic answer"), max_length=10, choices=Answer.choices, default="", blank=True
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail received")
        verbose_name_plural = _("e-mails received")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["outcome", "-received_at"], name="inbound_outcome_idx"),
            models.Index(fields=["sender", "-received_at"], name="inbound_sender_idx"),
        ]

    def __str__(self):
        return f"{self.sender}: {self.subject}"

    @property
    def outcome_label(self) -> str:
        return choice_label(self.Outcome, self.outcome)


class InboundMailbox(models.Model):
    """How the last readings of the support mailbox went: one row, for the back-off and staff.

    After a failure the mailbox is left alone for INBOUND_IMAP_POLL_SECONDS, doubled at each
    failure in a row up to INBOUND_IMAP_BACKOFF_MAX_SECONDS; staff see the error above the list
    of e-mails received until a reading succeeds.
    """

    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_read_at = models.DateTimeField(_("last read at"), null=True, blank=True)
    # One reading at a time: a beat tick or cron run that finds a reading under way skips; a
    # reader that died leaves this in the past after INBOUND_IMAP_READING_LEASE_SECONDS.
    reading_until = models.DateTimeField(_("being read until"), null=True, blank=True)

    class Meta:
        verbose_name = _("support mailbox")
        verbose_name_plural = _("support mailbox")

    def __str__(self):
        return str(self._meta.verbose_name)


class CannedAnswer(TimeStampedModel):
    """An answer managers keep for the questions that come back, in Italian and in English.

    The operator inserts it in the ticket's language on the ticket page, edits it and sends it as
    a normal reply (tickets.desk). Placeholders: {customer}, {ticket}, {product},
    {latest_version}, {manuals}.
    """

    PLACEHOLDERS = ("customer", "ticket", "product", "latest_version", "manuals")

    name = models.CharField(_("name"), max_length=100, unique=True)
    text_it = models.TextField(_("text (Italian)"))
    text_en = models.TextField(_("text (English)"))
    is_active = models.BooleanField(_("offered to operators"), default=True)

    class Meta:
        verbose_name = _("canned answer")
        verbose_name_plural = _("canned answers")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def text_for(self, ticket: "Ticket") -> str:
        """The text in the ticket's language, its placeholders filled in for this ticket."""
        text = self.text_it if ticket.language == "it" else self.text_en
        product = ticket.product
        values = {
            "customer": ticket.customer.contact_name or ticket.customer.company,
            "ticket": f"#{ticket.number}",
            "product": product.name,
            "latest_version": product.latest_version,
            "manuals": product.manuals_url,
        }
        for name, value in values.items():
            text = text.replace("{" + name + "}", value or "")
        return text


class CannedAnswerUse(models.Model):
    """One reply sent from a canned answer: what the dashboard counts."""

    answer = models.ForeignKey(
        CannedAnswer, verbose_name=_("canned answer"), on_delete=models.CASCADE, related_name="uses"
    )
    event = models.OneToOneField(
        TicketEvent, verbose_name=_("reply"), on_delete=models.CASCADE, related_name="canned_use"
    )
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("used by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    used_at = models.DateTimeField(_("used at"), default=timezone.now)

    class Meta:
        verbose_name = _("canned answer use")
        verbose_name_plural = _("canned answer uses")
        indexes = [models.Index(fields=["used_at", "answer"], name="canned_use_time_idx")]

    def __str__(self):
        return f"{self.answer_id} · {self.event_id}"


def _hours_validators():
    return [MinValueValidator(Decimal("0.25")), MaxValueValidator(Decimal("999"))]


class ServiceTarget(TimeStampedModel):
    """The promises made on a product's tickets, in service hours; the row without a product is
    the default for every product without one of its own (tickets.targets counts them)."""

    product = models.OneToOneField(
        "products.Product",
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="service_target",
        null=True,
        blank=True,
        help_text=_("Leave empty for the default, which applies to every other product."),
    )
    first_response_hours = models.DecimalField(
        _("first response within (service hours)"),
        max_digits=5,
        decimal_places=2,
        validators=_hours_validators(),
        help_text=_("From the ticket's receipt to the operator's first public answer."),
    )
    next_update_hours = models.DecimalField(
        _("next update within (service hours)"),
        max_digits=5,
        decimal_places=2,
        validators=_hours_validators(),
        help_text=_(
            "From the customer's reply (or an operator's answer that keeps the ticket in "
            "progress) to the next public answer. The clock stops while the ticket waits for "
            "the customer."
        ),
    )

    class Meta:
        verbose_name = _("service target")
        verbose_name_plural = _("service targets")
        ordering = [models.F("product__name").asc(nulls_first=True)]
        constraints = [
            # One row per product, and one default (a NULL product is not unique by itself).
            models.UniqueConstraint(
                Coalesce("product", models.Value(0)), name="service_target_one_per_product"
            ),
        ]

    def __str__(self):
        if self.product_id is None:
            return str(_("Default service target"))
        return str(self.product)

    @property
    def first_response(self) -> timedelta:
        return timedelta(hours=float(self.first_response_hours))

    @property
    def next_update(self) -> timedelta:
        return timedelta(hours=float(self.next_update_hours))

    def duration(self, target: str) -> timedelta:
        if target == Ticket.Target.FIRST_RESPONSE:
            return self.first_response
        return self.next_update


class TicketRating(models.Model):
    """The customer's answer to "How did we do?" about a closed ticket: one per ticket.

    Three answers, not five stars: one tap on a phone from the closing e-mail, and "the share of
    good answers" reads at a glance on the dashboard. The operator and the product rated are the
    ticket's (tickets.satisfaction); only managers see them together, aggregated.
    """

    class Score(models.IntegerChoices):
        GOOD = 3, _("Good")
        NEUTRAL = 2, _("Neither good nor bad")
        BAD = 1, _("Bad")

    # The customer answers, and may change the answer, for this long after the ticket closed;
    # the e-mail's links last as long.
    CHANGEABLE_FOR = timedelta(days=7)

    ticket = models.OneToOneField(
        Ticket,
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="rating",
    )
    score = models.PositiveSmallIntegerField(_("score"), choices=Score.choices)
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    rated_at = models.DateTimeField(_("rated at"))
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("ticket rating")
        verbose_name_plural = _("ticket ratings")
        indexes = [
            # The dashboard reads the ratings of its window of weeks.
            models.Index(fields=["rated_at"], name="ticket_rating_rated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__in=[1, 2, 3]), name="ticket_rating_score_valid"
            ),
        ]

    def __str__(self):
        return f"#{self.ticket_id}: {self.get_score_display()}"
