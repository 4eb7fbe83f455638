"""The e-mails received, for staff: what each became, and the ones that reached no ticket.

Operators read the list to answer what the mailbox could not place (a reply from another address,
a message that names no ticket, one written while the service was closed): the original message
is there to download. Rows are written by the mailbox reader only and kept as its log.
"""

from django.contrib import admin, messages
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_pagination import NoCountPaginationMixin
from core.dates import datetime_short, in_service_zone
from core.storage import stored_file_response
from tickets.models import InboundMail, InboundMailbox


class NeedsStaffFilter(admin.SimpleListFilter):
    title = _("needs staff")
    parameter_name = "needs_staff"

    def lookups(self, request, model_admin):
        return [("yes", _("Not added to a ticket"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(
                outcome__in=[InboundMail.Outcome.ADDED, InboundMail.Outcome.AUTOMATIC]
            )
        return queryset


@admin.register(InboundMail)
class InboundMailAdmin(NoCountPaginationMixin, admin.ModelAdmin):
    list_display = ["received_at", "sender", "outcome", "ticket_number", "subject", "reason_short"]
    list_filter = [NeedsStaffFilter, "outcome"]
    search_fields = ["=sender"]
    search_help_text = _("Exact e-mail address of the sender.")
    list_select_related = ["ticket"]
    ordering = ["-received_at", "-pk"]
    sortable_by = ["received_at"]
    list_per_page = 50
    list_max_show_all = 0
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = [
        "received_at",
        "sender",
        "subject",
        "outcome",
        "reason",
        "ticket",
        "event",
        "text",
        "answer",
        "answered_at",
        "original_link",
        "size",
        "message_id",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        state = InboundMailbox.objects.filter(pk=1, failures__gt=0).first()
        if state is not None:
            messages.warning(
                request,
                _(
                    "The support mailbox cannot be read since %(since)s (%(count)s attempts in "
                    "a row): %(error)s. Next attempt: %(next)s."
                )
                % {
                    "since": datetime_short(in_service_zone(state.failing_since)),
                    "count": state.failures,
                    "error": state.last_error,
                    "next": datetime_short(in_service_zone(state.next_attempt_at)),
                },
            )
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        original = self.admin_site.admin_view(self.original_view)
        return [
            path("<int:pk>/original/", original, name="tickets_inboundmail_original"),
            *super().get_urls(),
        ]

    def original_view(self, request, pk):
        """The message as it came, to open in a mail program (an .eml file)."""
        mail = InboundMail.objects.filter(pk=pk).first()
        if mail is None or not self.has_view_permission(request, mail) or not mail.original:
            raise Http404
        response = stored_file_response(
            mail.original, as_attachment=True, filename=f"message-{mail.pk}.eml"
        )
        response["Content-Type"] = "message/rfc822"
        return response

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, obj):
        return f"#{obj.ticket.number}" if obj.ticket_id else "—"

    @admin.display(description=_("reason"))
    def reason_short(self, obj):
        return obj.reason[:120]

    @admin.display(description=_("original message"))
    def original_link(self, obj):
        url = reverse("admin:tickets_inboundmail_original", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download (.eml)"))
