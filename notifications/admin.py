"""The e-mail log for staff: every notification, its state and last error, and a resend action.

Operators read it (to tell a customer that a message bounced); resending needs the change
permission, which only Managers hold. Whoever cannot see tickets cannot see their e-mails.

The outbox grows with every ticket update, so the list never counts the table (the queue's
paginator looks one row past the page), sorts only on indexed columns, and its filters and search
are equalities on indexed columns (see Notification.Meta.indexes).
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_pagination import NoCountPaginationMixin
from notifications.models import Notification
from notifications.services import notifications_resend
from tickets.models import Ticket


@admin.register(Notification)
class NotificationAdmin(NoCountPaginationMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "ticket_number",
        "event_kind",
        "recipient",
        "recipient_kind",
        "status",
        "attempts",
        "sent_at",
        "last_error_short",
    ]
    list_filter = ["status"]
    # The real search is get_search_results (exact lookups only); this only shows the box.
    search_fields = ["=recipient"]
    search_help_text = _("Exact ticket number or recipient's e-mail address.")
    list_select_related = ["ticket", "event"]
    ordering = ["-created_at", "-pk"]
    sortable_by = ["created_at"]
    list_per_page = 50
    list_max_show_all = 0
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["resend"]
    fields = [
        "ticket",
        "event",
        "events",
        "recipient",
        "recipient_kind",
        "language",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "leased_until",
        "created_at",
        "sent_at",
    ]
    readonly_fields = fields

    # Rows are written by ticket updates and kept as the log: staff only resend them.
    def has_add_permission(self, request):
        return False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and request.user.has_perm(
            "tickets.view_ticket"
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("ticket", "event")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lstrip("#").strip()
        if not term:
            return queryset, False
        # One indexed equality or the other: the ticket is looked up first, so the rows are read
        # through notification_ticket_idx rather than by joining tickets to the whole log.
        if term.isdigit():
            ticket_id = Ticket.objects.filter(number=int(term)).values_list("pk", flat=True).first()
            return queryset.filter(ticket_id=ticket_id), False
        return queryset.filter(recipient__iexact=term), False

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, obj):
        return f"#{obj.ticket.number}"

    @admin.display(description=_("update"))
    def event_kind(self, obj):
        return obj.event.kind_label

    @admin.display(description=_("last error"))
    def last_error_short(self, obj):
        return obj.last_error[:120]

    @admin.action(description=_("Send the selected notifications again"), permissions=["change"])
    def resend(self, request, queryset):
        count = notifications_resend(notifications=queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d notification will be sent again.",
                "%(count)d notifications will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
