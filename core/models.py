from auditlog.models import LogEntry
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def choice_label(choices: type[models.Choices], value) -> str:
    """The label of a stored value in the reader's language, as get_FOO_display() says it.

    get_FOO_display() translates every label of the field to find one (a dict of them all, made
    anew each call); pages that name the kind of each event and file paid that many times over.
    A value outside the choices is shown as stored, as get_FOO_display() does.
    """
    try:
        return str(choices(value).label)
    except ValueError:
        return value


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class TermsVersion(TimeStampedModel):
    """One published version of the terms of the technical support service."""

    version = models.CharField(_("version"), max_length=32, unique=True)
    effective_from = models.DateTimeField(_("effective from"))
    text_it = models.TextField(_("text (Italian)"))
    text_en = models.TextField(_("text (English)"), blank=True)
    text_fr = models.TextField(_("text (French)"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("terms version")
        verbose_name_plural = _("terms versions")
        ordering = ["-effective_from"]
        indexes = [models.Index(fields=["-effective_from"], name="terms_effective_idx")]

    def __str__(self):
        return self.version

    def text_for(self, language: str) -> str:
        """The text in a language, falling back to the Italian original."""
        return getattr(self, f"text_{language}", "") or self.text_it


class AuditEntry(LogEntry):
    """A row of the audit trail (django-auditlog's LogEntry), as the managers read it."""

    class Meta:
        proxy = True
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-timestamp", "-pk"]

    def __str__(self):
        return f"{self.object_repr} · {self.get_action_display()} · {self.timestamp:%Y-%m-%d %H:%M}"
