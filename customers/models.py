import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession, BaseSessionManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from customers.countries import country_name


class User(AbstractUser):
    """A person who logs in: a customer's contact or a member of staff.

    Customers log in with their customer code (kept as the user name) or their e-mail.
    """

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                condition=~models.Q(email=""),
                violation_error_message=_("A user with this e-mail address already exists."),
            ),
        ]


class StaffMemberManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(is_staff=True)


class StaffMember(User):
    """An operator or manager, as the managers see them to reset a lost two-factor device."""

    objects = StaffMemberManager()

    class Meta:
        proxy = True
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        permissions = [("reset_two_factor", _("Can reset a staff member's two-factor log-in"))]

    def __str__(self):
        return self.get_full_name() or self.get_username()


class LoginSessionManager(BaseSessionManager):
    def get_queryset(self):
        # The store reads a row to serve a request: its user and customer come in the same query.
        return super().get_queryset().select_related("user__customer", "user__membership__customer")


class LoginSession(AbstractBaseSession):
    """A browser's session, naming the user logged in with it (customers.sessions).

    The user is the same as the one in the signed data; kept in a column as well, the row and its
    user and customer are read in one query, and deleting a user deletes their sessions.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = LoginSessionManager()


class Customer(TimeStampedModel):
    """A workshop, identified by the customer code the vendor gave it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="customer",
    )
    code = models.CharField(_("customer code"), max_length=32, unique=True)
    company = models.CharField(_("company"), max_length=200)
    contact_name = models.CharField(_("contact"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="it"
    )
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO code."))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_suspended = models.BooleanField(_("suspended"), default=False)
    suspension_reason = models.TextField(_("reason for suspension"), blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_suspended=False) | ~models.Q(suspension_reason=""),
                name="customer_suspension_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.company}"

    @property
    def email(self) -> str:
        """The notification address of the customer code."""
        return self.user.email

    @property
    def country_name(self) -> str:
        """The country's name in the reader's language ("Italia" for IT), not its ISO code."""
        return country_name(self.country)


class Member(TimeStampedModel):
    """A colleague of the workshop's owner, with a log-in of their own on the customer code.

    The owner is the customer code's own user (Customer.user) and sees every ticket; a member
    sees the tickets they opened, or all the workshop's, as the owner chose (tickets.selectors.
    ticket_scope). A member removed keeps their row and their user, made inactive: their name
    stays on the tickets and messages they wrote.
    """

    class Scope(models.TextChoices):
        OWN = "own", _("Only the tickets they opened")
        ALL = "all", _("Every ticket of the workshop")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="membership",
    )
    scope = models.CharField(
        _("tickets seen"), max_length=3, choices=Scope.choices, default=Scope.OWN
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["customer", "created_at", "pk"]
        indexes = [models.Index(fields=["customer", "created_at"], name="member_customer_idx")]

    def __str__(self):
        return self.user.get_full_name() or self.user.email

    @property
    def is_active(self) -> bool:
        return self.removed_at is None

    @property
    def sees_all(self) -> bool:
        return self.scope == self.Scope.ALL

    @property
    def scope_for_member(self) -> str:
        """What the member sees, told to the member ("you"), where Scope's labels tell the owner."""
        return SCOPE_FOR_MEMBER[self.scope]


# The scope's labels speak of the colleague to the owner ("Only the tickets they opened"); the
# invitation's e-mail and page and the member's profile speak to the colleague.
SCOPE_FOR_MEMBER = {
    Member.Scope.OWN: _("Only the tickets you open"),
    Member.Scope.ALL: _("Every ticket of the workshop"),
}


class Invitation(TimeStampedModel):
    """The owner's invitation of a colleague: a signed link, valid for a few days, used once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Withdrawn")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("e-mail"))
    scope = models.CharField(
        _("tickets seen"), max_length=3, choices=Member.Scope.choices, default=Member.Scope.OWN
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    expires_at = models.DateTimeField(_("expires at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    member = models.OneToOneField(
        Member,
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitation",
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One invitation waiting per address and workshop: inviting again sends it anew.
            models.UniqueConstraint(
                "customer",
                Lower("email"),
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_email",
                violation_error_message=_("This address has already been invited."),
            ),
        ]

    def __str__(self):
        return f"{self.email} ({self.get_status_display()})"

    @property
    def scope_for_member(self) -> str:
        """What the colleague will see, told to the colleague ("you")."""
        return SCOPE_FOR_MEMBER[self.scope]


class Unit(TimeStampedModel):
    """A tool the customer owns: a product and its serial number."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LOST = "lost", _("Reported lost")
        STOLEN = "stolen", _("Reported stolen")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="units",
    )
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="units",
    )
    serial_number = models.CharField(_("serial number"), max_length=64)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    loss_details = models.TextField(_("circumstances of the loss or theft"), blank=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["product__position", "serial_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "serial_number"],
                name="unit_serial_unique_per_product",
                violation_error_message=_("This serial number is already registered."),
            ),
        ]
        indexes = [models.Index(fields=["serial_number"], name="unit_serial_idx")]

    def __str__(self):
        return f"{self.product} {self.serial_number}"

    @property
    def is_lost_or_stolen(self) -> bool:
        return self.status != self.Status.ACTIVE


class CustomerImport(TimeStampedModel):
    """A CSV file of the Databank uploaded by a manager, imported by a worker, and its report."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a worker")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        REFUSED = "refused", _("Refused: nothing imported")
        FAILED = "failed", _("Failed: nothing imported")

    # Deleted once imported: the report keeps what happened, the file's personal data go.
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    report = models.JSONField(_("report"), default=dict, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer import")
        verbose_name_plural = _("customer imports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.original_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_finished(self) -> bool:
        return self.status not in (self.Status.PENDING, self.Status.RUNNING)


def personal_data_export_path(instance, filename):
    # Generated: nobody can guess another workshop's archive from its own.
    return f"personal-data/{uuid.uuid4().hex}.zip"


class PersonalDataExport(TimeStampedModel):
    """An archive of everything the portal holds about a customer (§11), built by a worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a worker")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="personal_data_exports",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    done = models.PositiveIntegerField(_("items done"), default=0)
    total = models.PositiveIntegerField(_("items in all"), default=0)
    file = models.FileField(
        _("file"), upload_to=personal_data_export_path, max_length=200, blank=True
    )
    size = models.PositiveBigIntegerField(_("size"), default=0)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal data export")
        verbose_name_plural = _("personal data exports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One archive in the making per customer at a time.
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(status__in=["pending", "running"]),
                name="personal_data_export_one_running",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="personal_data_export_exp_idx",
                condition=models.Q(status="ready"),
            ),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.status} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_in_progress(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.READY:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class ErasureRequest(TimeStampedModel):
    """A customer's request to erase its account (§11), confirmed or refused by a manager."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a manager")
        CONFIRMED = "confirmed", _("Confirmed: account erased")
        REFUSED = "refused", _("Refused")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="erasure_requests",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    refusal_reason = models.TextField(_("reason for the refusal"), blank=True)

    class Meta:
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(status="pending"),
                name="erasure_request_one_pending",
                violation_error_message=_("An erasure request is already waiting for a manager."),
            ),
            models.CheckConstraint(
                condition=~models.Q(status="refused") | ~models.Q(refusal_reason=""),
                name="erasure_request_refusal_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.status} ({self.created_at:%Y-%m-%d})"
