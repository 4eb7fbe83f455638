from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import Notification
from notifications.services import notifications_resend


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
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
    list_filter = ["status", "recipient_kind", "language"]
    search_fields = ["=ticket__number", "recipient"]
    list_select_related = ["ticket", "event"]
    show_full_result_count = False
    ordering = ["-created_at", "-pk"]
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
        "created_at",
        "sent_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, obj):
        return f"#{obj.ticket.number}"

    @admin.display(description=_("update"))
    def event_kind(self, obj):
        return obj.event.get_kind_display()

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
