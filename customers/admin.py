from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Subquery
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.admin import ServiceWriteAdminMixin, adopt
from core.admin_pagination import NoCountPaginationMixin
from core.forms import form_errors_add
from customers.countries import country_choices, country_name
from customers.imports import IMPORT_COLUMNS, OPTIONAL_COLUMNS, ImportReport
from customers.models import (
    Customer,
    CustomerImport,
    Invitation,
    Member,
    StaffMember,
    Unit,
    User,
)
from customers.selectors import customer_import_list_recent, customer_import_progress
from customers.services import (
    customer_import_submit,
    customer_reinstate,
    customer_suspend,
    member_remove,
    member_scope_set,
    staff_two_factor_reset,
    unit_correct_serial,
    unit_register,
    unit_report_lost,
    unit_serial_check,
)
from products.models import Product


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


class UnitForm(forms.ModelForm):
    """A unit's product and serial, checked by customers.services as the portal checks them."""

    class Meta:
        model = Unit
        fields = ["customer", "product", "serial_number"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "product" in self.fields:
            # The Databank has no serial number: it is not a unit to register.
            self.fields["product"].queryset = Product.objects.filter(has_serial_number=True)

    def clean(self):
        cleaned = super().clean()
        field = self.fields.get("serial_number")
        if field is None or field.disabled or "serial_number" not in cleaned:
            return cleaned
        product = cleaned.get("product") if "product" in self.fields else self.instance.product
        if product is None:
            return cleaned
        try:
            cleaned["serial_number"] = unit_serial_check(
                product=product,
                serial_number=cleaned["serial_number"],
                unit=self.instance if self.instance.pk else None,
            )
        except ValidationError as exc:
            form_errors_add(self, exc)
        return cleaned


class UnitInlineForm(UnitForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # A registered unit is corrected on its own page, where the rules can be shown.
            for name in ("product", "serial_number"):
                if name in self.fields:
                    self.fields[name].disabled = True


class UnitInline(admin.TabularInline):
    """New units are registered through unit_register (CustomerAdmin.save_formset)."""

    model = Unit
    form = UnitInlineForm
    extra = 0
    fields = ["product", "serial_number", "status", "status_changed_at"]
    # Loss and theft are reported through unit_report_lost (the Units list's action).
    readonly_fields = ["status", "status_changed_at"]
    can_delete = False
    show_change_link = True


class MemberInlineForm(forms.ModelForm):
    remove = forms.BooleanField(
        label=_("remove from the workshop"),
        required=False,
        help_text=_("Their log-in stops at once; their messages stay."),
    )

    class Meta:
        model = Member
        fields = ["scope"]


class MemberInline(admin.TabularInline):
    """The workshop's people (customers.Member): they come by the owner's invitation only."""

    model = Member
    form = MemberInlineForm
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["name", "email", "scope", "last_login", "created_at", "remove"]
    readonly_fields = ["name", "email", "last_login", "created_at"]
    verbose_name = _("member of the workshop")
    verbose_name_plural = _("members of the workshop (besides the customer code's own log-in)")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(removed_at__isnull=True)
            .select_related("user")
            .order_by("created_at", "pk")
        )

    @admin.display(description=_("name"))
    def name(self, member):
        return member.user.get_full_name() or "—"

    @admin.display(description=_("e-mail"))
    def email(self, member):
        return member.user.email

    @admin.display(description=_("last log-in"))
    def last_login(self, member):
        return member.user.last_login or "—"


class InvitationInline(admin.TabularInline):
    """The owner's invitations, for staff to see (the owner sends and withdraws them)."""

    model = Invitation
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["email", "scope", "status", "invited_by", "created_at", "expires_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invited_by")


class CustomerImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "The Databank's export, as Excel saves it: UTF-8 or Windows-1252, columns separated "
            "by commas, semicolons or tabs, one row per unit."
        ),
    )


class CountryListFilter(admin.SimpleListFilter):
    """Filter by country, listed by name in the reader's language rather than by ISO code."""

    title = _("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        codes = (
            Customer.objects.exclude(country="")
            .order_by()
            .values_list("country", flat=True)
            .distinct()
        )
        return sorted(((code, country_name(code)) for code in codes), key=lambda c: c[1])

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(country=self.value())
        return queryset


class CustomerForm(forms.ModelForm):
    """The country is chosen by name; a code the list does not know stays selectable."""

    class Meta:
        model = Customer
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets and read-only fields decide

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "country" in self.fields:
            field = self.fields["country"]
            self.fields["country"] = forms.ChoiceField(
                label=field.label,
                required=False,
                choices=[("", "—"), *country_choices(keep=self.instance.country)],
            )


@admin.register(Customer)
class CustomerAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    form = CustomerForm
    list_display = [
        "code",
        "company",
        "contact_name",
        "country_display",
        "language",
        "is_suspended",
    ]
    list_filter = ["is_suspended", "language", CountryListFilter]
    search_fields = ["=code", "company", "=user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    inlines = [UnitInline, MemberInline, InvitationInline]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["suspend_customers", "reinstate_customers"]
    # Suspension goes through customer_suspend / customer_reinstate (the list's actions).
    readonly_fields = ["is_suspended", "suspension_reason", "suspended_at"]

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="{}_{}_import".format(*info),
            ),
            path(
                "import/<int:pk>/",
                self.admin_site.admin_view(self.import_status_view),
                name="{}_{}_import_status".format(*info),
            ),
            path(
                "import/<int:pk>/progress/",
                self.admin_site.admin_view(self.import_progress_view),
                name="{}_{}_import_progress".format(*info),
            ),
            *super().get_urls(),
        ]

    def _may_import(self, request) -> bool:
        # Importing creates and changes customers: the managers' rights, not the operators'.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def _import_allowed(self, request) -> None:
        if not self._may_import(request):
            raise PermissionDenied

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_import": self._may_import(request)}
        return super().changelist_view(request, extra_context)

    def _import_context(self, request, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import customers from the Databank"),
            **extra,
        }

    def import_view(self, request):
        """Upload the Databank's CSV export; a worker imports it, the next page follows it."""
        self._import_allowed(request)
        if request.method == "POST":
            form = CustomerImportForm(request.POST, request.FILES)
        else:
            form = CustomerImportForm()
        if request.method == "POST" and form.is_valid():
            try:
                customer_import = customer_import_submit(
                    upload=form.cleaned_data["file"], user=request.user
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                url = reverse("admin:customers_customer_import_status", args=[customer_import.pk])
                if request.headers.get("X-Requested-With") == "XMLHttpRequest":
                    return JsonResponse({"redirect": url})
                return HttpResponseRedirect(url)
        return TemplateResponse(
            request,
            "admin/customers/customer/import_form.html",
            self._import_context(
                request,
                form=form,
                recent=customer_import_list_recent(),
                columns=(*IMPORT_COLUMNS, *OPTIONAL_COLUMNS),
            ),
            status=400 if form.is_bound else 200,
        )

    def import_status_view(self, request, pk):
        """Follow an import while it runs (a progress bar), then read its report."""
        self._import_allowed(request)
        customer_import = get_object_or_404(
            CustomerImport.objects.select_related("uploaded_by"), pk=pk
        )
        report = ImportReport.from_dict(customer_import.report)
        return TemplateResponse(
            request,
            "admin/customers/customer/import_status.html",
            self._import_context(
                request,
                customer_import=customer_import,
                report=report,
                errors_total=customer_import.report.get("errors_total", len(report.errors)),
                progress=customer_import_progress(customer_import=customer_import),
            ),
        )

    def import_progress_view(self, request, pk):
        """The progress of an import, for the status page's script."""
        self._import_allowed(request)
        customer_import = get_object_or_404(CustomerImport, pk=pk)
        response = JsonResponse(customer_import_progress(customer_import=customer_import))
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description=_("country"), ordering="country")
    def country_display(self, customer):
        return customer.country_name

    def get_inlines(self, request, obj):
        # A new customer has nobody invited yet: its people come with its owner's invitations.
        return self.inlines if obj is not None else [UnitInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            # The code and the login are the vendor's identification of the workshop.
            return [*self.readonly_fields, "code", "user"]
        return self.readonly_fields

    @staticmethod
    def _members_save(formset):
        """Staff change what a member sees, or remove them, through the owner's services."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for member_form in formset.initial_forms:
            member = member_form.instance
            if member_form.cleaned_data.get("remove"):
                member_remove(member=member)
            elif "scope" in member_form.changed_data:
                member_scope_set(member=member, scope=member_form.cleaned_data["scope"])
                formset.changed_objects.append((member, ["scope"]))

    def save_formset(self, request, form, formset, change):
        if formset.model is Member:
            self._members_save(formset)
            return
        if formset.model is not Unit:
            super().save_formset(request, form, formset, change)
            return
        # Registered units are read-only here (UnitInlineForm): only new rows are written.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for unit_form in formset.extra_forms:
            if not unit_form.has_changed():
                continue
            unit = unit_register(
                customer=form.instance,
                product=unit_form.cleaned_data["product"],
                serial_number=unit_form.cleaned_data["serial_number"],
                by_staff=True,
            )
            adopt(unit_form.instance, unit)
            formset.new_objects.append(unit_form.instance)

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
class UnitAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    """Units are registered through unit_register and corrected through unit_correct_serial."""

    form = UnitForm
    list_display = ["serial_number", "product", "customer", "status", "status_changed_at"]
    list_filter = ["status", "product"]
    search_fields = ["=serial_number", "=customer__code"]
    list_select_related = ["product", "customer"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["report_lost_or_stolen"]
    fields = ["customer", "product", "serial_number", "status", "status_changed_at", "loss_details"]
    readonly_fields = ["status", "status_changed_at", "loss_details"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # The owner and the product are what the unit is; tickets copy its serial at submission.
        fixed = ["customer", "product"]
        if obj.tickets.exists():
            fixed.append("serial_number")
        return [*fixed, *self.readonly_fields]

    def has_delete_permission(self, request, obj=None):
        # No service removes a unit: its tickets and the loss reports refer to it.
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            adopt(
                obj,
                unit_register(
                    customer=obj.customer,
                    product=obj.product,
                    serial_number=obj.serial_number,
                    by_staff=True,
                ),
            )
        elif "serial_number" in form.changed_data:
            unit_correct_serial(unit=obj, serial_number=obj.serial_number)

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


# Two-factor log-in: the devices are never listed (a TOTP key is a password); managers see each
# staff member's state and reset a lost one from the staff list.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.register(StaffMember)
class StaffMemberAdmin(NoCountPaginationMixin, admin.ModelAdmin):
    """Operators and managers with their two-factor state, read-only; the reset is an action."""

    list_display = [
        "username",
        "full_name",
        "is_active",
        "has_authenticator",
        "recovery_codes_left",
        "wrong_codes",
        "last_log_in",
    ]
    list_filter = ["is_active", "groups"]
    show_facets = admin.ShowFacets.NEVER
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]
    fields = [
        "username",
        "full_name",
        "email",
        "is_active",
        "has_authenticator",
        "recovery_codes_left",
        "wrong_codes",
        "last_log_in",
    ]
    readonly_fields = fields
    actions = ["reset_two_factor"]

    def get_queryset(self, request):
        totp = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                authenticator=Exists(totp),
                failures=Subquery(totp.values("throttling_failure_count")[:1]),
                recovery_left=Subquery(
                    StaticToken.objects.filter(device__user=OuterRef("pk"))
                    .order_by()
                    .values("device__user")
                    .annotate(n=Count("pk"))
                    .values("n")[:1]
                ),
            )
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_reset_two_factor_permission(self, request):
        return request.user.has_perm("customers.reset_two_factor")

    @admin.display(description=_("name"))
    def full_name(self, obj):
        return obj.get_full_name()

    @admin.display(description=_("authenticator app"), boolean=True, ordering="authenticator")
    def has_authenticator(self, obj):
        return obj.authenticator

    @admin.display(description=_("recovery codes left"))
    def recovery_codes_left(self, obj):
        return obj.recovery_left or 0

    @admin.display(description=_("wrong codes in a row"))
    def wrong_codes(self, obj):
        return obj.failures or 0

    @admin.display(description=_("last log-in"), ordering="last_login")
    def last_log_in(self, obj):
        return obj.last_login

    @admin.action(
        description=_("Reset the two-factor log-in (lost phone)"),
        permissions=["reset_two_factor"],
    )
    def reset_two_factor(self, request, queryset):
        done = 0
        for member in queryset:
            try:
                staff_two_factor_reset(user=member, by=request.user)
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                gettext(
                    "Two-factor log-in reset for %(count)s staff member(s): they set up a new "
                    "app at their next log-in, and their sessions were ended."
                )
                % {"count": done},
                messages.SUCCESS,
            )
