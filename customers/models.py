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
        return super().get_queryset().select_related("user__customer")


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
