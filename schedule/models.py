from django.db import models
from django.utils.text import Truncator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.dates import EN_DASH, date_short, span_short, zone_name
from core.models import TimeStampedModel


def _in_language(obj, prefix: str, language: str | None = None) -> str:
    """Return a per-language field, falling back to Italian (the original), then English."""
    language = (language or get_language() or "it")[:2]
    for code in (language, "it", "en"):
        value = getattr(obj, f"{prefix}_{code}", "")
        if value:
            return value
    return ""


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class ServiceHours(TimeStampedModel):
    """One interval of service on a weekday, in the service time zone's wall-clock time."""

    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    class Meta:
        verbose_name = _("service hours")
        verbose_name_plural = _("service hours")
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__lt=models.F("closes_at")),
                name="service_hours_opens_before_closing",
                violation_error_message=_("The service must open before it closes."),
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6),
                name="service_hours_weekday_range",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Closure(TimeStampedModel):
    """A company closure (ferie): whole days, first and last included, maybe every year."""

    title_it = models.CharField(_("title (Italian)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    title_fr = models.CharField(_("title (French)"), max_length=200, blank=True)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    recurs_yearly = models.BooleanField(
        _("every year"),
        default=False,
        help_text=_("Repeat on the same dates every year."),
    )

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["first_day"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_day__lte=models.F("last_day")),
                name="closure_first_day_not_after_last",
                violation_error_message=_("The first day must not come after the last day."),
            ),
        ]

    def __str__(self):
        if not (self.first_day and self.last_day):
            return self.title()
        days = date_short(self.first_day)
        if self.last_day != self.first_day:
            days = f"{days}{EN_DASH}{date_short(self.last_day)}"
        return f"{self.title()} ({days})"

    def title(self, language: str | None = None) -> str:
        """Return the title in a language, falling back to Italian."""
        return _in_language(self, "title", language)


class Maintenance(TimeStampedModel):
    """An extraordinary maintenance window: the portal is unreachable from start to end."""

    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    is_urgent = models.BooleanField(
        _("urgent"),
        default=False,
        help_text=_(
            "Tick to allow a window that starts less than 24 hours after it is saved "
            "(the terms ask for 24 hours' notice)."
        ),
    )
    text_it = models.TextField(_("text (Italian)"))
    text_en = models.TextField(_("text (English)"), blank=True)
    text_fr = models.TextField(_("text (French)"), blank=True)

    class Meta:
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")),
                name="maintenance_starts_before_end",
                violation_error_message=_("The maintenance must start before it ends."),
            ),
        ]

    def __str__(self):
        # Shown in the admin's messages and delete page: in the service zone, which it names.
        if not (self.starts_at and self.ends_at):
            return str(self._meta.verbose_name)
        return f"{span_short(self.starts_at, self.ends_at)} ({zone_name()})"

    def text(self, language: str | None = None) -> str:
        """Return the text in a language, falling back to Italian."""
        return _in_language(self, "text", language)


class Notice(TimeStampedModel):
    """An alert shown on every portal page and in the Databank while it is published."""

    class Severity(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Written by a manager")
        CLOSURE = "closure", _("Company closure")
        MAINTENANCE = "maintenance", _("Maintenance")

    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.INFO
    )
    text_it = models.TextField(_("text (Italian)"))
    text_en = models.TextField(_("text (English)"), blank=True)
    text_fr = models.TextField(_("text (French)"), blank=True)
    publish_from = models.DateTimeField(_("published from"))
    publish_until = models.DateTimeField(_("published until"))
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.MANUAL, editable=False
    )
    closure = models.OneToOneField(
        Closure,
        verbose_name=_("closure"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        editable=False,
        related_name="notice",
    )
    maintenance = models.OneToOneField(
        Maintenance,
        verbose_name=_("maintenance window"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        editable=False,
        related_name="notice",
    )

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-publish_from"]
        indexes = [models.Index(fields=["publish_until"], name="notice_publish_until_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(publish_from__lt=models.F("publish_until")),
                name="notice_published_before_end",
                violation_error_message=_("The publication must start before it ends."),
            ),
        ]

    def __str__(self):
        text = Truncator(self.text()).chars(80)
        if not (self.publish_from and self.publish_until):
            return text
        return f"{text} ({span_short(self.publish_from, self.publish_until)}, {zone_name()})"

    def text(self, language: str | None = None) -> str:
        """Return the text in a language, falling back to Italian."""
        return _in_language(self, "text", language)
