"""The operators' side: the first-come-first-served queue and the page a ticket is worked from.

The queue must stay fast with a million tickets: it never counts the table (NoCountPaginator looks
one row past the page instead), it filters and sorts on the partial indexes of Ticket.Meta, and
it runs a constant number of queries per page. Every write goes through tickets.services.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin_pagination import NoCountPaginationMixin
from core.dates import datetime_short
from core.formats import duration_display
from schedule.selectors import service_time_between
from tickets.desk.queue import (
    QUEUE_RELATED,
    DueFilter,
    OperatorFilter,
    QueueChangeList,
    QueueStatusFilter,
    waiting_annotate,
)
from tickets.desk.search import exact_condition, ticket_search_view
from tickets.desk.ticket_page import TicketPageMixin, staff_name
from tickets.models import Attachment, Ticket
from tickets.services import ticket_take_next
from tickets.targets import due_state, due_state_describe

# Characters of the subject a row shows; the whole subject is one hover away.
SUBJECT_SHOWN = 48


@admin.register(Ticket)
class TicketAdmin(TicketPageMixin, NoCountPaginationMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "received",
        "waiting",
        "due",
        "customer_code",
        "product_version",
        "serial_number",
        "subject_short",
        "status_badge",
        "operator",
    ]
    list_display_links = ["number"]
    list_filter = [QueueStatusFilter, DueFilter, "product", OperatorFilter]
    list_select_related = QUEUE_RELATED
    # The real search is get_search_results (exact lookups only; changelist_view sends other
    # words to the full-text search page); these only show the box.
    search_fields = ["=number", "=customer__code", "=serial_number"]
    search_help_text = _(
        "An exact ticket number, customer code or serial number shows that ticket here; "
        "anything else searches the text of every ticket, closed ones included."
    )
    ordering = ["received_at", "number"]
    # Sorting by anything else would sort a million rows on every page.
    sortable_by = ["number", "received", "waiting", "due"]
    list_per_page = 50
    list_max_show_all = 0
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None

    fieldsets = [
        (
            _("Ticket"),
            {
                "fields": [
                    ("number", "status"),
                    ("received_at", "waiting_detail"),
                    "due_detail",
                    ("operator_detail", "taken_at"),
                    ("first_response_at", "closed_at"),
                    "duplicates_detail",
                ]
            },
        ),
        (
            _("Customer and product"),
            {
                "fields": [
                    "customer_detail",
                    ("product", "serial_number", "unit"),
                    ("kind", "language"),
                    ("software_version", "software_outdated"),
                ]
            },
        ),
        (
            _("The problem, as the customer described it"),
            {
                "fields": [
                    "subject",
                    ("vehicle_description", "vehicle_identification"),
                    ("ecu_description", "ecu_identification"),
                    "description",
                    "error_message",
                    "operations",
                ]
            },
        ),
        (
            _("Terms"),
            {"fields": [("terms_version", "terms_accepted_at")], "classes": ["collapse"]},
        ),
    ]

    # The admin reads tickets; it never rewrites what the customer said.
    readonly_fields = [
        "number",
        "status",
        "received_at",
        "waiting_detail",
        "due_detail",
        "operator_detail",
        "taken_at",
        "first_response_at",
        "closed_at",
        "duplicates_detail",
        "customer_detail",
        "product",
        "serial_number",
        "unit",
        "kind",
        "language",
        "software_version",
        "software_outdated",
        "subject",
        "vehicle_description",
        "vehicle_identification",
        "ecu_description",
        "ecu_identification",
        "description",
        "error_message",
        "operations",
        "terms_version",
        "terms_accepted_at",
        "emails_detail",
    ]
    # E-mails shown on the ticket page; the rest are one click away, in the log.
    EMAILS_SHOWN = 20

    class Media:
        css = {"all": ["tickets/admin.css"]}

    # Permissions: tickets are opened by customers through the portal and never deleted.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # The queue -----------------------------------------------------------------------------------

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("customer", "opened_by", "product", "assigned_to", "duplicate_of")
        )

    def get_search_results(self, request, queryset, search_term):
        condition = exact_condition(search_term)
        if condition is None:
            return queryset, False
        return queryset.filter(condition), False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": gettext("Queue: open tickets, oldest first"),
            "can_take_next": self.has_change_permission(request),
        }
        response = super().changelist_view(request, extra_context=extra_context)
        # Words that are no ticket's number, customer code or serial go to the full-text search
        # (the queue has already run its index-only lookups: no query is added to find out).
        query = request.GET.get(SEARCH_VAR, "").strip()
        changelist = getattr(response, "context_data", {}).get("cl")
        if (
            query
            and changelist is not None
            and changelist.page_num == 1
            and not changelist.result_count
        ):
            return redirect(f"{reverse('admin:tickets_ticket_search')}?{urlencode({'q': query})}")
        return response

    def get_changelist(self, request, **kwargs):
        return QueueChangeList

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        waiting_annotate(changelist.result_list, at=timezone.now())
        return changelist

    @admin.display(description=_("waiting (service time)"), ordering="received_at")
    def waiting(self, obj):
        if not obj.is_open:
            return "—"
        return duration_display(self._waiting(obj))

    @admin.display(description=_("service target"), ordering="due_at")
    def due(self, obj):
        if not obj.is_open:
            return "—"
        state = getattr(obj, "service_due", None) or due_state(obj, at=timezone.now())
        title = ""
        if obj.due_at is not None:
            title = gettext("%(target)s due at %(due)s") % {
                "target": Ticket.Target(obj.due_target).label,
                "due": datetime_short(obj.due_at),
            }
        return format_html(
            '<span class="ticket-due ticket-due-{}" title="{}">{}</span>',
            state.state,
            title,
            due_state_describe(state),
        )

    def _waiting(self, obj) -> timedelta:
        cached = getattr(obj, "service_waiting", None)
        if cached is not None:
            return cached
        return service_time_between(start=obj.received_at, end=timezone.now())

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, obj):
        return datetime_short(obj.received_at)

    @admin.display(description=_("product"))
    def product_version(self, obj):
        # A customer on an old version is told to update first (terms, §9): seen at a glance.
        if not obj.software_outdated:
            return obj.product.name
        return format_html(
            '{} <span class="ticket-outdated" title="{}">{}</span>',
            obj.product.name,
            gettext("Software %(version)s, older than the latest (%(latest)s)")
            % {"version": obj.software_version, "latest": obj.product.latest_version or "—"},
            gettext("old version"),
        )

    @admin.display(description=_("subject"))
    def subject_short(self, obj):
        # The whole subject stays one hover away; the column stays narrow enough for a laptop.
        if len(obj.subject) <= SUBJECT_SHOWN:
            return obj.subject
        short = obj.subject[: SUBJECT_SHOWN - 1] + "…"
        return format_html('<span title="{}">{}</span>', obj.subject, short)

    @admin.display(description=_("customer code"), ordering="customer__code")
    def customer_code(self, obj):
        return obj.customer.code

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="ticket-status ticket-status-{}">{}</span>',
            obj.status,
            obj.status_label,
        )

    @admin.display(description=_("operator"), ordering="assigned_to")
    def operator(self, obj):
        if obj.assigned_to is None:
            return format_html('<span class="ticket-nobody" title="{}">—</span>', _("Unassigned"))
        return staff_name(obj.assigned_to)

    # Take next -----------------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "search/",
                self.admin_site.admin_view(self.search_view),
                name="{}_{}_search".format(*info),
            ),
            path(
                "take-next/",
                self.admin_site.admin_view(self.take_next_view),
                name="{}_{}_take_next".format(*info),
            ),
            *super().get_urls(),
        ]

    def search_view(self, request):
        return ticket_search_view(model_admin=self, request=request)

    def take_next_view(self, request):
        return require_POST(self._take_next)(request)

    def _take_next(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        ticket = ticket_take_next(operator=request.user)
        if ticket is None:
            self.message_user(
                request, gettext("The queue is empty: no ticket is waiting."), messages.INFO
            )
            return redirect("admin:tickets_ticket_changelist")
        self.message_user(
            request,
            gettext("You have taken ticket #%(number)s in charge.") % {"number": ticket.number},
            messages.SUCCESS,
        )
        return redirect("admin:tickets_ticket_change", ticket.pk)


@admin.register(Attachment)
class AttachmentAdmin(NoCountPaginationMixin, admin.ModelAdmin):
    list_display = ["original_name", "ticket", "kind", "content_type", "size", "created_at"]
    list_select_related = ["ticket"]
    search_fields = ["=ticket__number"]
    raw_id_fields = ["ticket", "event", "uploaded_by"]
    readonly_fields = [
        "ticket",
        "event",
        "uploaded_by",
        "kind",
        "file_link",
        "original_name",
        "content_type",
        "size",
        "created_at",
    ]
    fields = readonly_fields
    ordering = ["-pk"]
    sortable_by = []
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None

    # Files come with tickets and replies, through the services; the admin only shows them.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("file"))
    def file_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("tickets:attachment", args=[obj.pk]), obj.original_name
        )
