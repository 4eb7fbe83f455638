"""Erasure requests in the admin: managers confirm or refuse them through the services.

A customers model registered here, not in customers.admin: confirming anonymises the tickets
(tickets.personal_data), and customers sits below tickets.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_pagination import NoCountPaginationMixin
from customers.models import ErasureRequest
from tickets.personal_data import erasure_request_confirm, erasure_request_refuse


class ErasureConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I have checked that nothing obliges us to keep this customer's data"),
    )


class ErasureRefuseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the refusal"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        help_text=_("The customer receives this reason by e-mail."),
    )


@admin.register(ErasureRequest)
class ErasureRequestAdmin(NoCountPaginationMixin, admin.ModelAdmin):
    list_display = ["customer", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["customer", "decided_by"]
    search_fields = ["=customer__code"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["confirm_erasures", "refuse_erasures"]
    fields = [
        "customer",
        "requested_by",
        "status",
        "created_at",
        "decided_by",
        "decided_at",
        "refusal_reason",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # the customer asks, on the personal-data page

    def has_delete_permission(self, request, obj=None):
        return False  # the decision is a record

    def _page(self, request, queryset, *, action, form, title, intro):
        return TemplateResponse(
            request,
            "admin/customers/action_form.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "intro": intro,
                "objects": queryset,
                "form": form,
                "action": action,
                "opts": self.opts,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def _decide(self, request, queryset, decide) -> int:
        done = 0
        for erasure in queryset.filter(status=ErasureRequest.Status.PENDING):
            try:
                decide(erasure)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                done += 1
        return done

    @admin.action(description=_("Erase the selected customers' accounts…"), permissions=["change"])
    def confirm_erasures(self, request, queryset):
        form = ErasureConfirmForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = self._decide(
                request,
                queryset,
                lambda erasure: erasure_request_confirm(erasure=erasure, by=request.user),
            )
            self.message_user(
                request,
                gettext("%(count)d accounts erased.") % {"count": done},
                messages.SUCCESS,
            )
            return None
        return self._page(
            request,
            queryset,
            action="confirm_erasures",
            form=form,
            title=gettext("Erase accounts"),
            intro=gettext(
                "Each customer's tickets are anonymised, its files deleted and its log-in closed. "
                "The ticket numbers and the audit trail are kept. This cannot be undone."
            ),
        )

    @admin.action(description=_("Refuse the selected erasure requests…"), permissions=["change"])
    def refuse_erasures(self, request, queryset):
        form = ErasureRefuseForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = self._decide(
                request,
                queryset,
                lambda erasure: erasure_request_refuse(
                    erasure=erasure, by=request.user, reason=reason
                ),
            )
            self.message_user(
                request,
                gettext("%(count)d erasure requests refused.") % {"count": done},
                messages.SUCCESS,
            )
            return None
        return self._page(
            request,
            queryset,
            action="refuse_erasures",
            form=form,
            title=gettext("Refuse erasure requests"),
            intro=gettext("The customer's account stays as it is; it is told why by e-mail."),
        )
