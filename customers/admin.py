from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Unit, User
from customers.services import customer_reinstate, customer_suspend, unit_report_lost


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active"]


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the suspension"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        help_text=_("The customer reads this reason on every page where it cannot write."),
    )


class UnitLossForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Reported"),
        choices=[
            (Unit.Status.LOST, Unit.Status.LOST.label),
            (Unit.Status.STOLEN, Unit.Status.STOLEN.label),
        ],
        widget=forms.RadioSelect,
    )
    details = forms.CharField(
        label=_("Circumstances of the loss or theft"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        required=False,
    )


def _confirmation_page(modeladmin, request, queryset, *, action, form, title, intro):
    """Ask for the action's details before applying it to the selected rows."""
    return TemplateResponse(
        request,
        "admin/customers/action_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "objects": queryset,
            "form": form,
            "action": action,
            "opts": modeladmin.opts,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0
    fields = ["product", "serial_number", "status", "status_changed_at"]
    # Loss and theft are reported through unit_report_lost (the Units list's action).
    readonly_fields = ["status", "status_changed_at"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["code", "company", "contact_name", "country", "language", "is_suspended"]
    list_filter = ["is_suspended", "language", "country"]
    search_fields = ["=code", "company", "=user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    inlines = [UnitInline]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["suspend_customers", "reinstate_customers"]
    # Suspension goes through customer_suspend / customer_reinstate (the list's actions).
    readonly_fields = ["is_suspended", "suspension_reason", "suspended_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # The code and the login are the vendor's identification of the workshop.
            return [*self.readonly_fields, "code", "user"]
        return self.readonly_fields

    @admin.action(description=_("Suspend the selected customers…"), permissions=["change"])
    def suspend_customers(self, request, queryset):
        form = SuspendForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            for customer in queryset:
                customer_suspend(customer=customer, reason=reason)
                self.log_change(request, customer, gettext("Suspended: %s") % reason)
            self.message_user(
                request,
                gettext("%(count)d customers suspended.") % {"count": len(queryset)},
                messages.SUCCESS,
            )
            return None
        return _confirmation_page(
            self,
            request,
            queryset,
            action="suspend_customers",
            form=form,
            title=gettext("Suspend customers"),
            intro=gettext(
                "A suspended customer still reads its tickets but cannot open new ones or reply."
            ),
        )

    @admin.action(description=_("Reinstate the selected customers"), permissions=["change"])
    def reinstate_customers(self, request, queryset):
        count = 0
        for customer in queryset.filter(is_suspended=True):
            customer_reinstate(customer=customer)
            self.log_change(request, customer, gettext("Reinstated."))
            count += 1
        self.message_user(
            request,
            gettext("%(count)d customers reinstated.") % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["serial_number", "product", "customer", "status", "status_changed_at"]
    list_filter = ["status", "product"]
    search_fields = ["=serial_number", "=customer__code"]
    list_select_related = ["product", "customer"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["report_lost_or_stolen"]
    readonly_fields = ["status", "status_changed_at", "loss_details"]

    @admin.action(
        description=_("Report the selected units lost or stolen…"), permissions=["change"]
    )
    def report_lost_or_stolen(self, request, queryset):
        form = UnitLossForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = 0, []
            for unit in queryset.select_related("product"):
                try:
                    unit_report_lost(
                        unit=unit,
                        status=form.cleaned_data["status"],
                        details=form.cleaned_data["details"],
                    )
                except ValidationError:
                    refused.append(str(unit))
                    continue
                self.log_change(request, unit, unit.get_status_display())
                done += 1
            self.message_user(
                request,
                gettext("%(count)d units reported.") % {"count": done},
                messages.SUCCESS,
            )
            if refused:
                self.message_user(
                    request,
                    gettext("Already reported, left as they were: %(units)s")
                    % {"units": ", ".join(refused)},
                    messages.WARNING,
                )
            return None
        return _confirmation_page(
            self,
            request,
            queryset,
            action="report_lost_or_stolen",
            form=form,
            title=gettext("Report units lost or stolen"),
            intro=gettext("From now on these units accept only the report of their loss or theft."),
        )
