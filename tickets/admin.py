from django.contrib import admin

from tickets.models import Attachment, Ticket, TicketEvent


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "author", "is_public", "body"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "received_at", "customer", "product", "serial_number", "status"]
    list_filter = ["status", "product"]
    search_fields = ["=number", "=customer__code", "=serial_number"]
    list_select_related = ["customer", "product"]
    ordering = ["received_at"]
    show_full_result_count = False
    raw_id_fields = ["customer", "unit", "assigned_to", "duplicate_of"]
    readonly_fields = ["number", "received_at", "terms_version", "terms_accepted_at"]
    inlines = [TicketEventInline]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "ticket", "kind", "size", "created_at"]
    list_select_related = ["ticket"]
    raw_id_fields = ["ticket", "event", "uploaded_by"]
    show_full_result_count = False
