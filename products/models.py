import re

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class Product(TimeStampedModel):
    """A supported tool or service (terms, §1)."""

    class Family(models.TextChoices):
        KESS = "kess", "KESSv2"
        KTAG = "ktag", "K-TAG"
        ECM_TITANIUM = "ecm", "ECM Titanium"
        POWERGATE = "powergate", "Powergate"
        DATABANK = "databank", _("Databank")

    class Role(models.TextChoices):
        MASTER = "master", _("Master")
        SLAVE = "slave", _("Slave")
        NONE = "", _("Not applicable")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    family = models.CharField(_("family"), max_length=20, choices=Family.choices)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, blank=True)
    has_serial_number = models.BooleanField(
        _("has a serial number"),
        default=True,
        help_text=_("Online services such as the Databank have none."),
    )
    latest_version = models.CharField(
        _("latest software version"),
        max_length=40,
        blank=True,
        help_text=_("Supported products must run this version (terms, §9)."),
    )
    manuals_url = models.URLField(_("manuals link"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def is_version_outdated(self, version: str) -> bool:
        """Tell whether a software version is older than the product's latest."""
        if not self.latest_version or not version:
            return False
        return version_key(version) < version_key(self.latest_version)


def version_key(version: str) -> tuple[int, ...]:
    """Turn "R3.213b" or "2.41" into comparable integers; letters are ignored."""
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)
