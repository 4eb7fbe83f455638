"""Service targets: the promises made on each ticket, counted in service hours.

Managers set, per product (with a default, `ServiceTarget`), a first-response and a next-update
target. Each open ticket carries a clock in its own columns (`Ticket.due_*`):

- it starts at receipt, for the first response;
- once an operator has answered, each public update that leaves the ticket in the operators'
  hands (and each reply of the customer that puts it back there) starts a next-update clock;
- it pauses while the ticket waits for the customer (waiting, answered) and stops at closing; a
  first-response clock paused before any answer resumes with the time it had already used.

Only the schedule app counts service hours (`service_time_add`, `service_time_between`): the due
instant is the instant when the target's service time has elapsed since the clock started. A
change of the calendar or of the targets moves the due instants of every open ticket; the beat
task `service_targets_check` notices it, records missed targets and warns the operators.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.cache import cache_is_degraded
from core.dates import datetime_short
from core.formats import duration_display
from notifications.services import notifications_record_update
from schedule.gate import service_status
from schedule.selectors import calendar_version, service_time_add, service_time_between
from tickets.models import ServiceTarget, Ticket, TicketEvent
from tickets.updates import Update

logger = logging.getLogger(__name__)

Target = Ticket.Target
# What the clock needs of a ticket, for the recomputing batches.
CLOCK_FIELDS = ("due_target", "due_from", "due_used", "due_at", "due_warned_at", "target_missed_at")
RECOMPUTE_FIELDS = ("pk", "status", "product_id", "received_at", "first_response_at", *CLOCK_FIELDS)
APPLIED_KEY = "tickets:targets:applied"
RECOMPUTE_BATCH = 500


# Reads --------------------------------------------------------------------------------------------


def service_targets_by_product() -> dict[int | None, ServiceTarget]:
    """Return every target row by product id (None: the default)."""
    return {row.product_id: row for row in ServiceTarget.objects.all()}


def service_target_for(*, product_id: int) -> ServiceTarget | None:
    """Return the target that applies to a product's tickets: its own, else the default."""
    rows = list(
        ServiceTarget.objects.filter(Q(product_id=product_id) | Q(product__isnull=True))
        .order_by(F("product_id").desc(nulls_last=True))
        .only("product_id", "first_response_hours", "next_update_hours")[:1]
    )
    return rows[0] if rows else None


def due_soon_minutes() -> int:
    return settings.SERVICE_TARGET_DUE_SOON_MINUTES


@dataclass(frozen=True)
class DueState:
    """Where an open ticket stands against its target, as the queue shows it."""

    state: str  # "overdue", "soon", "due", "paused", "none"
    left: timedelta | None  # service time left (negative: overdue by)
    target: str

    OVERDUE = "overdue"
    SOON = "soon"
    DUE = "due"
    PAUSED = "paused"
    NONE = "none"


def due_state(ticket: Ticket, *, at: datetime) -> DueState:
    """Return how an open ticket stands against its target at an instant, in service time."""
    if ticket.due_at is None:
        state = DueState.PAUSED if ticket.due_target else DueState.NONE
        return DueState(state=state, left=None, target=ticket.due_target)
    if ticket.due_at <= at:
        late = service_time_between(start=ticket.due_at, end=at)
        return DueState(state=DueState.OVERDUE, left=-late, target=ticket.due_target)
    left = service_time_between(start=at, end=ticket.due_at)
    soon = left <= timedelta(minutes=due_soon_minutes())
    return DueState(
        state=DueState.SOON if soon else DueState.DUE, left=left, target=ticket.due_target
    )


def due_soon_limit(*, at: datetime) -> datetime:
    """Return the instant before which a due ticket is "due soon" (the service-time horizon)."""
    found = service_time_add(start=at, duration=timedelta(minutes=due_soon_minutes()))
    return found or at + timedelta(days=3650)


def due_state_describe(state: DueState) -> str:
    """Say in words where a ticket stands: "overdue by 1 h 20 min", "due in 35 min"..."""
    if state.state == DueState.OVERDUE:
        return _("overdue by %(time)s") % {"time": duration_display(-state.left)}
    if state.state in (DueState.SOON, DueState.DUE):
        return _("due in %(time)s") % {"time": duration_display(state.left)}
    if state.state == DueState.PAUSED:
        return _("paused")
    return _("no target")


# The clock ----------------------------------------------------------------------------------------


def _wanted(ticket: Ticket) -> str:
    """Return the target the ticket's state calls for now ("" : none, the clock paused)."""
    if not ticket.is_open or ticket.status in Ticket.CUSTOMER_STATUSES:
        return ""
    if ticket.first_response_at is None:
        return Target.FIRST_RESPONSE
    return Target.NEXT_UPDATE


def _due(*, start: datetime, target: ServiceTarget, kind: str, used: timedelta) -> datetime | None:
    return service_time_add(start=start, duration=max(target.duration(kind) - used, timedelta(0)))


def _staff_update(events: Sequence[TicketEvent]) -> bool:
    return any(
        event.is_public
        and event.kind in (TicketEvent.Kind.MESSAGE, TicketEvent.Kind.ATTACHMENT)
        and event.author is not None
        and event.author.is_staff
        for event in events
    )


def ticket_clock_apply(
    *,
    ticket: Ticket,
    events: Sequence[TicketEvent] = (),
    target: ServiceTarget | bool | None = False,
    at: datetime | None = None,
) -> list[str]:
    """Move a ticket's target clock after a write (the ticket not yet saved); return the fields
    changed. `target` is the product's ServiceTarget when the caller has it (False: look it up)."""
    at = at or (events[-1].created_at if events else timezone.now())
    before = {name: getattr(ticket, name) for name in CLOCK_FIELDS}
    running = ticket.due_at is not None
    wanted = _wanted(ticket)
    if target is False:
        target = service_target_for(product_id=ticket.product_id)

    def stop() -> None:
        if running and at > ticket.due_at and ticket.target_missed_at is None:
            ticket.target_missed_at = ticket.due_at

    if target is None:
        # No target applies (managers removed them): no clock.
        stop()
        ticket.due_target, ticket.due_from, ticket.due_at = "", None, None
        ticket.due_used = timedelta(0)
    elif not wanted:
        if running:
            stop()
            if ticket.due_target == Target.FIRST_RESPONSE and ticket.first_response_at is None:
                # Paused before any answer: the first response resumes with what it used.
                ticket.due_used += service_time_between(start=ticket.due_from, end=at)
            else:
                ticket.due_used = timedelta(0)
            ticket.due_from, ticket.due_at = None, None
        if not ticket.is_open:
            ticket.due_target, ticket.due_used = "", timedelta(0)
    elif wanted == Target.FIRST_RESPONSE:
        if not running:
            if ticket.due_target == Target.FIRST_RESPONSE:
                start = at  # resumed after a pause, with the time it had used
            else:
                start = ticket.received_at
                ticket.due_used, ticket.due_warned_at = timedelta(0), None
            ticket.due_target, ticket.due_from = Target.FIRST_RESPONSE, start
            ticket.due_at = _due(start=start, target=target, kind=wanted, used=ticket.due_used)
    else:  # the next update
        restart = not running or ticket.due_target != Target.NEXT_UPDATE or _staff_update(events)
        if restart:
            stop()
            ticket.due_target, ticket.due_from, ticket.due_used = wanted, at, timedelta(0)
            ticket.due_warned_at = None
            ticket.due_at = _due(start=at, target=target, kind=wanted, used=timedelta(0))
    return [name for name in CLOCK_FIELDS if getattr(ticket, name) != before[name]]


def ticket_clock_record(*, ticket: Ticket, events: Sequence[TicketEvent]) -> None:
    """Move the clock of a ticket a service has just saved (inside its transaction, row locked)."""
    changed = ticket_clock_apply(ticket=ticket, events=events)
    if changed:
        Ticket.objects.filter(pk=ticket.pk).update(
            **{name: getattr(ticket, name) for name in changed}
        )


# Recomputing after a change of the calendar or of the targets -------------------------------------


def _revision() -> str:
    """Name the calendar and the targets in force: a change of either moves due instants."""
    targets = ServiceTarget.objects.aggregate(n=Count("pk"), last=Max("updated_at"))
    return f"{calendar_version()}|{targets['n']}|{targets['last']}"


def service_targets_recompute(*, at: datetime | None = None) -> int:
    """Recompute the due instant of every open ticket; return how many moved.

    Run in batches, each its own short transaction with its rows locked, so that replies go on
    meanwhile. A ticket that has no clock yet (opened before the targets existed) gets one: the
    first response counts from its receipt, a next update from now.
    """
    at = at or timezone.now()
    targets = service_targets_by_product()
    default = targets.get(None)
    moved = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Ticket.objects.select_for_update()
                .exclude(status=Ticket.Status.CLOSED)
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .only(
                    "pk", "status", "product_id", "received_at", "first_response_at", *CLOCK_FIELDS
                )[:RECOMPUTE_BATCH]
            )
            if not batch:
                return moved
            last_pk = batch[-1].pk
            changed_rows = []
            for ticket in batch:
                target = targets.get(ticket.product_id, default)
                before = ticket.due_at
                if target is not None and ticket.due_at is not None:
                    ticket.due_at = _due(
                        start=ticket.due_from,
                        target=target,
                        kind=ticket.due_target,
                        used=ticket.due_used,
                    )
                    changed = ticket.due_at != before
                else:
                    changed = bool(ticket_clock_apply(ticket=ticket, target=target, at=at))
                if changed:
                    changed_rows.append(ticket)
            if changed_rows:
                Ticket.objects.bulk_update(changed_rows, CLOCK_FIELDS)
                moved += len(changed_rows)


# The beat task's work -----------------------------------------------------------------------------


@dataclass
class CheckResult:
    recomputed: int | None = None  # None: nothing had changed
    missed: int = 0
    warned: int = 0


def _warning_text(ticket: Ticket, *, at: datetime) -> str:
    left = service_time_between(start=at, end=ticket.due_at)
    values = {
        "target": Ticket.Target(ticket.due_target).label,
        "due": datetime_short(ticket.due_at),
        "left": duration_display(left),
    }
    return _("%(target)s due at %(due)s: %(left)s of service time left.") % values


def _ticket_warn(*, ticket_pk: int, at: datetime, limit: datetime) -> bool:
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer__user", "assigned_to")
            .filter(pk=ticket_pk, due_warned_at__isnull=True, due_at__gt=at, due_at__lte=limit)
            .exclude(status=Ticket.Status.CLOSED)
            .first()
        )
        if ticket is None:
            return False
        with translation.override(ticket.language):
            body = _warning_text(ticket, at=at)
        # Internal, like a note: the customer never hears of it; the outbox tells the operator.
        event = TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.TARGET_WARNING,
            body=body,
            is_public=False,
            created_at=at,
        )
        ticket.due_warned_at = at
        Ticket.objects.filter(pk=ticket.pk).update(due_warned_at=at)
        notifications_record_update(update=Update(ticket=ticket, events=(event,)))
    return True


def service_targets_check(*, at: datetime | None = None) -> CheckResult:
    """Keep due instants true to the calendar, record missed targets, warn before a miss.

    Warnings go out once per target, only while the service is open: a target that falls due
    soon after an opening is announced at the opening, never at night.
    """
    at = at or timezone.now()
    result = CheckResult()
    # Without the cache the calendar's token is a process's own: wait for Redis to compare.
    if not cache_is_degraded():
        revision = _revision()
        if cache.get(APPLIED_KEY) != revision:
            result.recomputed = service_targets_recompute(at=at)
            cache.set(APPLIED_KEY, revision, timeout=None)
    open_due = Ticket.objects.exclude(status=Ticket.Status.CLOSED).filter(due_at__isnull=False)
    result.missed = open_due.filter(due_at__lte=at, target_missed_at__isnull=True).update(
        target_missed_at=F("due_at")
    )
    if service_status(at=at).is_open:
        limit = due_soon_limit(at=at)
        candidates = (
            open_due.filter(due_at__gt=at, due_at__lte=limit, due_warned_at__isnull=True)
            .order_by("due_at", "number")
            .values_list("pk", flat=True)[: settings.SERVICE_TARGET_WARNINGS_PER_RUN]
        )
        for pk in list(candidates):
            result.warned += _ticket_warn(ticket_pk=pk, at=at, limit=limit)
    return result
