"""Remote assistance in the admin: ask for a session, and show the credentials to the one operator.

Mounted from config/urls.py ahead of admin.site.urls (see tickets.admin_urls). The lists here never
carry the TeamViewer ID or password; the reveal is a POST that writes an audit row.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables

from tickets.forms import refusals_shown
from tickets.models import RemoteAccessRequest, RemoteAccessReveal, Ticket
from tickets.remote.services import (
    can_reveal,
    remote_access_current,
    remote_access_expires_at,
    remote_access_request,
    remote_access_reveal,
)


class RemoteAccessRevealInline(admin.TabularInline):
    model = RemoteAccessReveal
    extra = 0
    can_delete = False
    fields = ["revealed_at", "operator"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RemoteAccessRequest)
class RemoteAccessRequestAdmin(admin.ModelAdmin):
    """A read-only record of the requests; the secret columns are never loaded."""

    list_display = [
        "ticket_number",
        "requested_by",
        "requested_at",
        "state",
        "submitted_at",
        "erased_at",
        "erase_reason",
    ]
    list_filter = ["erase_reason"]
    list_select_related = ["ticket", "requested_by"]
    search_fields = ["=ticket__number"]
    show_full_result_count = False
    date_hierarchy = None
    fields = [
        "ticket_number",
        "requested_by",
        "requested_at",
        "authorisation_confirmed_at",
        "backup_confirmed_at",
        "submitted_at",
        "erased_at",
        "erase_reason",
    ]
    readonly_fields = fields
    inlines = [RemoteAccessRevealInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("password_token", "teamviewer_id_token")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("ticket"), ordering="ticket__number")
    def ticket_number(self, obj):
        return f"#{obj.ticket.number}"

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj):
        if obj.is_erased:
            return _("erased")
        return _("details sent") if obj.submitted_at else _("waiting for the customer")


def _each_context(request) -> dict:
    return admin.site.each_context(request)


@method_decorator(never_cache, name="dispatch")
class RemoteAccessAdminView(View):
    """Show a ticket's remote-access state; the assigned operator asks for a session here."""

    def get_ticket(self, pk):
        return get_object_or_404(
            Ticket.objects.select_related("customer", "assigned_to", "product"), pk=pk
        )

    def get(self, request, pk):
        ticket = self.get_ticket(pk)
        if not request.user.has_perm("tickets.view_ticket"):
            raise PermissionDenied
        remote_access = remote_access_current(ticket=ticket)
        reveals = (
            list(remote_access.reveals.select_related("operator")[:20]) if remote_access else []
        )
        context = {
            **_each_context(request),
            "title": _("Remote assistance for ticket #%(number)s") % {"number": ticket.number},
            "ticket": ticket,
            "remote_access": remote_access,
            "expires_at": remote_access_expires_at(remote_access=remote_access)
            if remote_access
            else None,
            "reveals": reveals,
            "is_assigned_operator": ticket.assigned_to_id == request.user.pk,
            "may_reveal": bool(remote_access)
            and remote_access.is_submitted
            and ticket.is_open
            and can_reveal(remote_access=remote_access, user=request.user),
            "opts": Ticket._meta,
            "change_url": reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        }
        return TemplateResponse(request, "admin/tickets/remote_access.html", context)

    def post(self, request, pk):
        ticket = self.get_ticket(pk)
        with refusals_shown() as refusal:
            remote_access_request(
                ticket=ticket, operator=request.user, message=request.POST.get("message", "")
            )
        if refusal.refused:
            messages.error(
                request,
                " ".join(refusal.messages)
                or _("Only the operator who took the ticket can do this."),
            )
        else:
            messages.success(
                request,
                _("The customer has been asked for the TeamViewer ID and password."),
            )
        return redirect("tickets_admin:remote-access", pk=ticket.pk)


@method_decorator(never_cache, name="dispatch")
class RemoteAccessRevealView(View):
    """Show the TeamViewer ID and password to the assigned operator; POST only, audited."""

    def get(self, request, pk):
        return redirect("tickets_admin:remote-access", pk=pk)

    @method_decorator(sensitive_variables("credentials"))
    def post(self, request, pk):
        ticket = get_object_or_404(Ticket.objects.select_related("assigned_to"), pk=pk)
        remote_access = remote_access_current(ticket=ticket)
        if remote_access is None:
            raise Http404
        try:
            credentials = remote_access_reveal(remote_access=remote_access, operator=request.user)
        except PermissionDenied as exc:
            # Other staff, managers included, get no hint of the secret.
            raise PermissionDenied(str(exc)) from exc
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("tickets_admin:remote-access", pk=ticket.pk)
        context = {
            **_each_context(request),
            "title": _("Remote assistance for ticket #%(number)s") % {"number": ticket.number},
            "ticket": ticket,
            "credentials": credentials,
            "opts": Ticket._meta,
            "back_url": reverse("tickets_admin:remote-access", args=[ticket.pk]),
        }
        response = TemplateResponse(request, "admin/tickets/remote_access_reveal.html", context)
        response["Cache-Control"] = "no-store, private"
        response["Referrer-Policy"] = "no-referrer"
        return response
