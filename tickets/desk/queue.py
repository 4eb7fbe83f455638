"""The queue's list: how long each ticket has waited in service time, and its two filters."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import User
from schedule.selectors import service_time_between
from tickets.models import Ticket
from tickets.targets import due_soon_limit, due_state

# The queue --------------------------------------------------------------------------------------

# What a row of the queue shows (TicketAdmin.list_display), and nothing else: a ticket and its
# customer, product and operator have four times as many columns.
QUEUE_RELATED = ("customer", "product", "assigned_to")
QUEUE_FIELDS = (
    "number",
    "received_at",
    "status",
    "serial_number",
    "subject",
    "software_version",
    "software_outdated",
    "due_target",
    "due_at",
    *QUEUE_RELATED,
    "customer__code",
    "product__name",
    "product__latest_version",
    "assigned_to__username",
    "assigned_to__first_name",
    "assigned_to__last_name",
)


class QueueChangeList(ChangeList):
    """The queue's page of tickets, loading the columns it shows only."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.select_related(None).select_related(*QUEUE_RELATED).only(*QUEUE_FIELDS)


def waiting_annotate(tickets, *, at) -> None:
    """Set `service_waiting` and `service_due` on a page of open tickets: the service time from
    each to `at`, and where it stands against its service target.

    The calendar keeps running totals of service time per day, so each row costs the same
    whether its ticket arrived this morning or years ago.
    """
    for ticket in tickets:
        if ticket.is_open:
            ticket.service_waiting = service_time_between(start=ticket.received_at, end=at)
            ticket.service_due = due_state(ticket, at=at)


class DueFilter(admin.SimpleListFilter):
    """Open tickets by where they stand against their service target, in service time."""

    title = _("service target")
    parameter_name = "due"
    OVERDUE, SOON, ON_TIME, PAUSED = "overdue", "soon", "on_time", "paused"

    def lookups(self, request, model_admin):
        return [
            (self.OVERDUE, _("Overdue")),
            (self.SOON, _("Due soon")),
            (self.ON_TIME, _("Within target")),
            (self.PAUSED, _("Paused (waiting for the customer)")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        now = timezone.now()
        if value == self.PAUSED:
            return queryset.filter(due_at__isnull=True, status__in=Ticket.CUSTOMER_STATUSES)
        if value == self.OVERDUE:
            return queryset.filter(due_at__lte=now)
        limit = due_soon_limit(at=now)
        if value == self.SOON:
            return queryset.filter(due_at__gt=now, due_at__lte=limit)
        if value == self.ON_TIME:
            return queryset.filter(due_at__gt=limit)
        return queryset.none()


class QueueStatusFilter(admin.SimpleListFilter):
    """Open tickets by default; one status, the closed ones, or all of them on request."""

    title = _("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*Ticket.Status.choices, (self.ALL, _("All, closed included"))]

    def _searching(self, request) -> bool:
        return bool(request.GET.get("q", "").strip())

    def choices(self, changelist):
        choices = list(super().choices(changelist))
        # The "no value" entry is the open queue; while searching it spans every status.
        choices[0]["display"] = _("Any (searching)") if self._searching(self.request) else _("Open")
        return choices

    def queryset(self, request, queryset):
        self.request = request
        value = self.value()
        if value is None:
            if self._searching(request):
                return queryset
            return queryset.exclude(status=Ticket.Status.CLOSED)
        if value == self.ALL:
            return queryset
        if value in Ticket.Status.values:
            return queryset.filter(status=value)
        return queryset.none()


class OperatorFilter(admin.SimpleListFilter):
    title = _("operator")
    parameter_name = "operator"
    MINE = "mine"
    NONE = "none"

    def lookups(self, request, model_admin):
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("username")
        return [
            (self.MINE, _("Mine")),
            (self.NONE, _("Unassigned")),
            *((str(user.pk), user.get_full_name() or user.username) for user in staff),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.MINE:
            return queryset.filter(assigned_to=request.user)
        if value == self.NONE:
            return queryset.filter(assigned_to__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assigned_to_id=int(value))
        return queryset
