"""The one gate: what the service calendar allows at an instant.

Views, forms, services and the admin ask `service_status()`; nothing else compares the clock
with service hours.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from schedule.calendar import pick_language
from schedule.snapshot import calendar_current


class ServiceState(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    OUTSIDE_HOURS = "outside_hours", gettext_lazy("Outside service hours")
    HOLIDAY = "holiday", gettext_lazy("National holiday")
    CLOSURE = "closure", gettext_lazy("Company closure")
    MAINTENANCE = "maintenance", gettext_lazy("Extraordinary maintenance")


@dataclass(frozen=True)
class ServiceStatus:
    state: ServiceState
    reason: str
    next_opening: datetime | None
    at: datetime
    # When the present state ends: the close of the current hours, the end of the maintenance.
    until: datetime | None = None
    # Open only because of the local demo switch (demo_always_open), whatever the hours say.
    demo: bool = False

    @property
    def is_open(self) -> bool:
        return self.state == ServiceState.OPEN

    @property
    def accepts_tickets(self) -> bool:
        """Whether customers may open tickets and reply right now."""
        if self.state == ServiceState.OUTSIDE_HOURS:
            return not settings.SERVICE_GATE_OUTSIDE_HOURS
        return self.is_open

    @property
    def portal_reachable(self) -> bool:
        return self.state != ServiceState.MAINTENANCE

    def get_state_display(self) -> str:
        return str(ServiceState(self.state).label)


class ServiceClosedError(Exception):
    """Raised by services when the calendar refuses a customer's write."""

    def __init__(self, status: ServiceStatus):
        self.status = status
        super().__init__(str(status.reason))


def demo_always_open() -> bool:
    """Whether the local demo switch opens the service at all hours (DEMO_SERVICE_ALWAYS_OPEN).

    Only config.settings.local reads the variable, and only with DEBUG on is it honoured: the
    production settings never define it and never run with DEBUG.
    """
    return bool(settings.DEBUG and getattr(settings, "SERVICE_DEMO_ALWAYS_OPEN", False))


def service_status(*, at: datetime | None = None) -> ServiceStatus:
    """Return the service state at an instant, why, and when the service opens next."""
    at = at or timezone.now()
    calendar = calendar_current()
    language = get_language()

    def opening() -> datetime | None:
        found = calendar.next_opening(at)
        return found.astimezone(calendar.zone) if found else None

    window = calendar.maintenance_at(at)
    if window is not None:
        text = pick_language(window.texts, language)
        reason = _("The portal is closed for extraordinary maintenance.")
        until = calendar.downtime_end(at)
        return ServiceStatus(
            state=ServiceState.MAINTENANCE,
            reason=f"{reason} {text}".strip(),
            next_opening=opening(),
            at=at,
            until=until.astimezone(calendar.zone) if until else None,
        )
    if demo_always_open():
        # A newcomer tries every step at any hour; planned maintenance still closes the portal.
        return ServiceStatus(
            state=ServiceState.OPEN, reason="", next_opening=None, at=at, demo=True
        )
    off = calendar.day_off(calendar.local_date(at))
    if off is not None:
        name = pick_language(off.names, language)
        if off.kind == "holiday":
            state = ServiceState.HOLIDAY
            reason = _("Today is a national holiday (%(name)s): there is no support service.")
        else:
            state = ServiceState.CLOSURE
            reason = _("The company is closed (%(name)s): there is no support service.")
        return ServiceStatus(
            state=state, reason=reason % {"name": name}, next_opening=opening(), at=at
        )
    span = calendar.open_span_at(at)
    if span is not None:
        return ServiceStatus(
            state=ServiceState.OPEN,
            reason="",
            next_opening=None,
            at=at,
            until=span[1].astimezone(calendar.zone),
        )
    return ServiceStatus(
        state=ServiceState.OUTSIDE_HOURS,
        reason=_("We are outside service hours: tickets are answered during service hours only."),
        next_opening=opening(),
        at=at,
    )


def under_maintenance(*, at: datetime) -> bool:
    """Tell whether extraordinary maintenance closes the portal at an instant: the one question
    every request asks, answered without working out the whole status."""
    return calendar_current().maintenance_at(at) is not None


def require_service_open(*, at: datetime | None = None) -> ServiceStatus:
    """Return the status if customers may write now, else raise ServiceClosedError."""
    status = service_status(at=at)
    if not status.accepts_tickets:
        raise ServiceClosedError(status)
    return status
