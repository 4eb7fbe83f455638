"""The one gate: what the service calendar allows at an instant.

Views, forms, services and the admin ask `service_status()`; nothing else compares the clock
with service hours.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ServiceState(models.TextChoices):
    OPEN = "open", _("Open")
    OUTSIDE_HOURS = "outside_hours", _("Outside service hours")
    HOLIDAY = "holiday", _("National holiday")
    CLOSURE = "closure", _("Company closure")
    MAINTENANCE = "maintenance", _("Extraordinary maintenance")


@dataclass(frozen=True)
class ServiceStatus:
    state: ServiceState
    reason: str
    next_opening: datetime | None
    at: datetime

    @property
    def is_open(self) -> bool:
        return self.state == ServiceState.OPEN

    @property
    def accepts_tickets(self) -> bool:
        """Whether customers may open tickets and reply right now."""
        return self.is_open

    @property
    def portal_reachable(self) -> bool:
        return self.state != ServiceState.MAINTENANCE


class ServiceClosedError(Exception):
    """Raised by services when the calendar refuses a customer's write."""

    def __init__(self, status: ServiceStatus):
        self.status = status
        super().__init__(str(status.reason))


def service_status(*, at: datetime | None = None) -> ServiceStatus:
    """Return the service state at an instant, why, and when the service opens next."""
    at = at or timezone.now()
    return ServiceStatus(state=ServiceState.OPEN, reason="", next_opening=None, at=at)


def require_service_open(*, at: datetime | None = None) -> ServiceStatus:
    """Return the status if customers may write now, else raise ServiceClosedError."""
    status = service_status(at=at)
    if not status.accepts_tickets:
        raise ServiceClosedError(status)
    return status
