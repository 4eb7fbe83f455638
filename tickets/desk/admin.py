"""The operators' side: the first-come-first-served queue and the page a ticket is worked from.

The queue must stay fast with a million tickets: it never counts the table (NoCountPaginator looks
one row past the page instead), it filters and sorts on the partial indexes of Ticket.Meta, and
it runs a constant number of queries per page. Every write goes through tickets.services.
"""

import copy
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin_pagination import NoCountPaginationMixin
from core.formats import duration_display
from customers.models import Customer, User
from schedule.selectors import service_time_between
from tickets.desk.forms import (
    KEEP_STATUS,
    CloseForm,
    DuplicateForm,
    StaffReplyForm,
    StatusChangeForm,
)
from tickets.forms import refusals_shown
from tickets.models import Attachment, Ticket
from tickets.selectors import ticket_timeline
from tickets.services import (
    ticket_close,
    ticket_mark_duplicate,
    ticket_reply_staff,
    ticket_status_change,
    ticket_take,
    ticket_take_next,
)

# The queue --------------------------------------------------------------------------------------


def waiting_annotate(tickets, *, at) -> None:
    """Set `service_waiting` on a page of open tickets, walking the calendar once for them all.

    Service time adds up over consecutive spans, so newest first each ticket waits as long as
    the one received after it plus the span between them: a page of tickets years old costs one
    walk of those years, not one per row.
    """
    waited, until = timedelta(0), at
    for ticket in sorted(
        (t for t in tickets if t.is_open), key=lambda t: t.received_at, reverse=True
    ):
        if ticket.received_at < until:
            waited += service_time_between(start=ticket.received_at, end=until)
            until = ticket.received_at
        ticket.service_waiting = waited


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


# The ticket page's actions: name → (form class, what to do with the cleaned form).
def _do_reply(request, ticket, form):
    status = form.cleaned_data.get("new_status")
    ticket_reply_staff(
        ticket=ticket,
        operator=request.user,
        body=form.cleaned_data["body"],
        is_public=form.is_public,
        new_status=None if status == KEEP_STATUS else status,
        files=form.new_files() if form.is_public else (),
    )
    if form.is_public:
        return gettext("Your reply has been added to ticket #%(number)s.")
    return gettext("Your internal note has been added to ticket #%(number)s.")


def _do_status(request, ticket, form):
    ticket_status_change(ticket=ticket, operator=request.user, status=form.cleaned_data["status"])
    return gettext("The status of ticket #%(number)s has been changed.")


def _do_duplicate(request, ticket, form):
    ticket_mark_duplicate(
        ticket=ticket, original=form.cleaned_data["original"], operator=request.user
    )
    return gettext("Ticket #%(number)s is closed as a duplicate.")


def _do_close(request, ticket, form):
    ticket_close(ticket=ticket, user=request.user, body=form.cleaned_data["body"])
    return gettext("Ticket #%(number)s is closed.")


def _do_take(request, ticket, form):
    ticket_take(ticket=ticket, operator=request.user)
    return gettext("You have taken ticket #%(number)s in charge.")


TICKET_ACTIONS = {
    "reply": (StaffReplyForm, _do_reply),
    "status": (StatusChangeForm, _do_status),
    "duplicate": (DuplicateForm, _do_duplicate),
    "close": (CloseForm, _do_close),
    "take": (forms.Form, _do_take),
}
ACTION_FIELD = "_ticket_action"


@admin.register(Ticket)
class TicketAdmin(NoCountPaginationMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "received",
        "waiting",
        "customer_code",
        "product",
        "serial_number",
        "subject_short",
        "status_badge",
        "operator",
    ]
    list_display_links = ["number"]
    list_filter = [QueueStatusFilter, "product", OperatorFilter]
    list_select_related = ["customer", "product", "assigned_to"]
    # The real search is get_search_results (exact lookups only); these only show the box.
    search_fields = ["=number", "=customer__code", "=serial_number"]
    search_help_text = _("Exact ticket number, customer code or serial number.")
    ordering = ["received_at", "number"]
    # Sorting by anything else would sort a million rows on every page.
    sortable_by = ["number", "received", "waiting"]
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
                    ("assigned_to", "taken_at"),
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
        "assigned_to",
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
            .select_related("customer", "product", "assigned_to", "duplicate_of")
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#").strip().upper()
        if not term:
            return queryset, False
        # Each branch is an equality on an indexed column of the ticket table itself, so
        # PostgreSQL can OR three index scans instead of joining customers to every ticket.
        condition = Q(serial_number=term)
        if term.isdigit() and len(term) < 19:
            condition |= Q(number=int(term))
        customer_pk = Customer.objects.filter(code=term).values_list("pk", flat=True).first()
        if customer_pk is not None:
            condition |= Q(customer_id=customer_pk)
        return queryset.filter(condition), False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": gettext("Queue: open tickets, oldest first"),
            "can_take_next": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        waiting_annotate(changelist.result_list, at=timezone.now())
        return changelist

    @admin.display(description=_("waiting (service time)"), ordering="received_at")
    def waiting(self, obj):
        if not obj.is_open:
            return "—"
        return duration_display(self._waiting(obj))

    def _waiting(self, obj) -> timedelta:
        cached = getattr(obj, "service_waiting", None)
        if cached is not None:
            return cached
        return service_time_between(start=obj.received_at, end=timezone.now())

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, obj):
        return date_format(timezone.localtime(obj.received_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("subject"))
    def subject_short(self, obj):
        return Truncator(obj.subject).chars(60)

    @admin.display(description=_("customer code"), ordering="customer__code")
    def customer_code(self, obj):
        return obj.customer.code

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="ticket-status ticket-status-{}">{}</span>',
            obj.status,
            obj.get_status_display(),
        )

    @admin.display(description=_("operator"), ordering="assigned_to")
    def operator(self, obj):
        if obj.assigned_to is None:
            return "—"
        return obj.assigned_to.get_full_name() or obj.assigned_to.username

    # Take next -----------------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "take-next/",
                self.admin_site.admin_view(self.take_next_view),
                name="{}_{}_take_next".format(*info),
            ),
            *super().get_urls(),
        ]

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

    # The ticket page -----------------------------------------------------------------------------

    @admin.display(description=_("waiting (service time)"))
    def waiting_detail(self, obj):
        return self.waiting(obj)

    @admin.display(description=_("customer"))
    def customer_detail(self, obj):
        customer = obj.customer
        url = reverse("admin:customers_customer_change", args=[customer.pk])
        if customer.is_suspended:
            return format_html(
                '<a href="{}">{} · {}</a> <span class="ticket-warning">{}</span>',
                url,
                customer.code,
                customer.company,
                gettext("suspended"),
            )
        return format_html('<a href="{}">{} · {}</a>', url, customer.code, customer.company)

    @admin.display(description=_("duplicates"))
    def duplicates_detail(self, obj):
        links = []
        if obj.duplicate_of_id:
            links.append(
                format_html(
                    '{} <a href="{}">#{}</a>',
                    gettext("Duplicate of"),
                    reverse("admin:tickets_ticket_change", args=[obj.duplicate_of_id]),
                    obj.duplicate_of.number,
                )
            )
        for duplicate in obj.duplicates.only("pk", "number").order_by("number"):
            links.append(
                format_html(
                    '{} <a href="{}">#{}</a>',
                    gettext("Duplicated by"),
                    reverse("admin:tickets_ticket_change", args=[duplicate.pk]),
                    duplicate.number,
                )
            )
        if not links:
            return "—"
        return format_html_join(" · ", "{}", ((link,) for link in links))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        # Whoever answers the customer sees whether the e-mails reached them (a bounce, a
        # retry); the log itself is the notifications app's, reached through its admin URLs.
        if obj is not None and request.user.has_perm("notifications.view_notification"):
            fieldsets = [*fieldsets, (_("E-mails"), {"fields": ["emails_detail"]})]
        return fieldsets

    @admin.display(description=_("e-mails about this ticket"))
    def emails_detail(self, obj):
        # One query whatever the number of e-mails: the newest rows and their updates' kinds.
        rows = list(
            obj.notifications.select_related("event").order_by("-created_at", "-pk")[
                : self.EMAILS_SHOWN + 1
            ]
        )
        log_url = reverse("admin:notifications_notification_changelist") + f"?q={obj.number}"
        if not rows:
            return gettext("No e-mail has been sent about this ticket.")
        body = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td>'
            '<td><span class="email-status email-status-{}">{}</span></td><td>{}</td>'
            '<td class="email-error" title="{}">{}</td></tr>',
            (
                (
                    reverse("admin:notifications_notification_change", args=[row.pk]),
                    date_format(timezone.localtime(row.created_at), "SHORT_DATETIME_FORMAT"),
                    row.recipient,
                    row.event.get_kind_display(),
                    row.status,
                    row.get_status_display(),
                    row.attempts,
                    row.last_error,
                    Truncator(row.last_error).chars(160) or "—",
                )
                for row in rows[: self.EMAILS_SHOWN]
            ),
        )
        more = (
            gettext("Only the latest %(count)d are shown.") % {"count": self.EMAILS_SHOWN}
            if len(rows) > self.EMAILS_SHOWN
            else ""
        )
        return format_html(
            '<table class="ticket-emails"><thead><tr><th scope="col">{}</th><th scope="col">{}'
            '</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th>'
            '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>'
            '<p>{} <a href="{}">{}</a></p>',
            gettext("Created"),
            gettext("Recipient"),
            gettext("Update"),
            gettext("Status"),
            gettext("Attempts"),
            gettext("Last error"),
            body,
            more,
            log_url,
            gettext("Open these e-mails in the log"),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            return self._work_post(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def _work_post(self, request, object_id):
        ticket = self.get_object(request, unquote(object_id))
        if ticket is None:
            raise Http404
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        name = request.POST.get(ACTION_FIELD, "")
        if name not in TICKET_ACTIONS:
            return HttpResponseBadRequest(gettext("Unknown action."))
        form_class, do = TICKET_ACTIONS[name]
        form = form_class(request.POST, request.FILES, prefix=name)
        if form.is_valid():
            with refusals_shown(form) as refusal:
                message = do(request, ticket, form)
            if not refusal.refused:
                self.message_user(request, message % {"number": ticket.number}, messages.SUCCESS)
                url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
                return HttpResponseRedirect(url + ("#timeline-end" if name == "reply" else ""))
        # Show the page again with the operator's text kept and the errors beside it.
        request.ticket_bound_forms = {name: form}
        get_request = copy.copy(request)
        get_request.method = "GET"
        response = super().change_view(get_request, object_id)
        response.status_code = 400
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._work_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _work_context(self, request, ticket):
        bound = getattr(request, "ticket_bound_forms", {})
        initial = {"status": {"status": ticket.status}}
        forms = {
            name: bound.get(name) or form_class(prefix=name, initial=initial.get(name))
            for name, (form_class, _do) in TICKET_ACTIONS.items()
        }
        labels = dict(Ticket.Status.choices)
        timeline = [
            {
                "event": event,
                "old_status": labels.get(event.old_status, ""),
                "new_status": labels.get(event.new_status, ""),
                "by_staff": bool(event.author and event.author.is_staff),
            }
            for event in ticket_timeline(ticket=ticket, include_internal=True)
        ]
        can_work = ticket.is_open and self.has_change_permission(request, ticket)
        return {
            "title": gettext("Ticket #%(number)s") % {"number": ticket.number},
            "ticket": ticket,
            "timeline": timeline,
            "work_forms": forms,
            "action_field": ACTION_FIELD,
            "can_work": can_work,
            "is_mine": ticket.assigned_to_id == request.user.pk,
            "waiting_display": self.waiting(ticket),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }


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
