from base64 import b32encode

import qrcode
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views import View
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from qrcode.image.svg import SvgPathImage

from core.forms import form_errors_add
from customers.forms import (
    CustomerPasswordResetForm,
    LoginForm,
    ProfileForm,
    TwoFactorTokenForm,
    UnitRegisterForm,
    UnitReportLostForm,
)
from customers.mixins import CustomerRequiredMixin
from customers.models import Unit
from customers.selectors import unit_get_for_customer, unit_list_for_customer
from customers.services import (
    customer_update_profile,
    staff_recovery_codes_generate,
    staff_recovery_codes_left,
    staff_totp_device_confirm,
    staff_totp_device_start,
    staff_two_factor_is_set_up,
    staff_two_factor_verify,
    unit_register,
    unit_report_lost,
)


class CustomerLoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "customers/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        customer = getattr(form.get_user(), "customer", None)
        if customer is not None:
            # The profile's language wins at log-in; the switcher can still change it later.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                customer.language,
                samesite="Lax",
                max_age=60 * 60 * 24 * 365,
            )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = CustomerPasswordResetForm
    template_name = "customers/password_reset_form.html"
    email_template_name = "customers/email/password_reset.txt"
    html_email_template_name = "customers/email/password_reset.html"
    subject_template_name = "customers/email/password_reset_subject.txt"
    success_url = reverse_lazy("customers:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "customers/password_reset_confirm.html"
    success_url = reverse_lazy("customers:password_reset_complete")


class ProfileView(CustomerRequiredMixin, View):
    def get(self, request):
        form = ProfileForm(instance=self.customer)
        return self.render(request, form)

    def post(self, request):
        form = ProfileForm(request.POST, instance=self.customer)
        if form.is_valid():
            customer_update_profile(customer=self.customer, **form.cleaned_data)
            # The next page is in the language just chosen: so is its confirmation.
            with translation.override(self.customer.language):
                messages.success(request, _("Your profile has been saved."))
            response = redirect("customers:profile")
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                self.customer.language,
                samesite="Lax",
                max_age=60 * 60 * 24 * 365,
            )
            return response
        self.customer.refresh_from_db()
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        return render(request, "customers/profile.html", {"form": form}, status=status)


class UnitListView(CustomerRequiredMixin, View):
    def get(self, request):
        return self.render(request, UnitRegisterForm())

    def post(self, request):
        form = UnitRegisterForm(request.POST)
        if form.is_valid():
            try:
                unit = unit_register(customer=self.customer, **form.cleaned_data)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, _("%(unit)s has been registered.") % {"unit": unit})
                return redirect("customers:units")
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        return render(
            request,
            "customers/unit_list.html",
            {"units": unit_list_for_customer(customer=self.customer), "form": form},
            status=status,
        )


class UnitReportLostView(CustomerRequiredMixin, View):
    def get_unit(self, pk):
        try:
            return unit_get_for_customer(customer=self.customer, pk=pk)
        except Unit.DoesNotExist as exc:
            raise Http404 from exc

    def get(self, request, pk):
        unit = self.get_unit(pk)
        return self.render(request, unit, UnitReportLostForm())

    def post(self, request, pk):
        unit = self.get_unit(pk)
        form = UnitReportLostForm(request.POST)
        if form.is_valid():
            try:
                unit_report_lost(
                    unit=unit,
                    status=form.cleaned_data["status"],
                    details=form.cleaned_data["details"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("%(unit)s is now reported lost or stolen. Send us the report below.")
                    % {"unit": unit},
                )
                return redirect(reverse("tickets:create") + f"?unit={unit.pk}&kind=loss")
        return self.render(request, unit, form, status=400)

    def render(self, request, unit, form, status=200):
        return render(
            request,
            "customers/unit_report_lost.html",
            {"unit": unit, "form": form},
            status=status,
        )


# Two-factor log-in for staff ---------------------------------------------------------------------


def _next_url(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("admin:index")


def _two_factor_page(request, template, **context):
    response = TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "next": _next_url(request), **context},
    )
    response["Cache-Control"] = "no-store, private"
    return response


def qr_code_svg(data: str) -> str:
    """Draw a QR code as an inline SVG element (no image request, no script)."""
    image = qrcode.make(data, image_factory=SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    return svg[svg.index("<svg") :]


class StaffTwoFactorVerifyView(View):
    """Ask a staff member for a code from their app, or a recovery code, once per session."""

    template = "admin/two_factor/verify.html"

    def get(self, request):
        if request.user.is_verified():
            return redirect(_next_url(request))
        if not staff_two_factor_is_set_up(user=request.user):
            return redirect(f"{reverse('two_factor:setup')}?{request.GET.urlencode()}")
        return _two_factor_page(
            request, self.template, title=_("Confirm your log-in"), form=TwoFactorTokenForm()
        )

    def post(self, request):
        form = TwoFactorTokenForm(request.POST)
        if form.is_valid():
            try:
                device = staff_two_factor_verify(
                    user=request.user, token=form.cleaned_data["token"]
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                otp_login(request, device)
                if isinstance(device, StaticDevice):
                    messages.warning(
                        request,
                        _(
                            "You used a recovery code: it no longer works. %(count)s left; "
                            "make new ones from the recovery codes page."
                        )
                        % {"count": staff_recovery_codes_left(user=request.user)},
                    )
                return redirect(_next_url(request))
        return _two_factor_page(request, self.template, title=_("Confirm your log-in"), form=form)


class StaffTwoFactorSetupView(View):
    """Set up an authenticator app at the first log-in: QR code, secret, confirming code."""

    template = "admin/two_factor/setup.html"

    def get(self, request):
        if staff_two_factor_is_set_up(user=request.user):
            return redirect(f"{reverse('two_factor:verify')}?{request.GET.urlencode()}")
        return self.render(request, TwoFactorTokenForm())

    def post(self, request):
        if staff_two_factor_is_set_up(user=request.user):
            return redirect("two_factor:verify")
        form = TwoFactorTokenForm(request.POST)
        device = staff_totp_device_start(user=request.user)
        if form.is_valid():
            try:
                codes = staff_totp_device_confirm(
                    user=request.user, device=device, token=form.cleaned_data["token"]
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                otp_login(request, device)
                return _two_factor_page(
                    request,
                    "admin/two_factor/recovery_codes_new.html",
                    title=_("Your recovery codes"),
                    codes=codes,
                )
        return self.render(request, form)

    def render(self, request, form):
        device = staff_totp_device_start(user=request.user)
        secret = b32encode(device.bin_key).decode()
        return _two_factor_page(
            request,
            self.template,
            title=_("Set up two-factor log-in"),
            form=form,
            qr_code=mark_safe(qr_code_svg(device.config_url)),  # noqa: S308 (our own SVG)
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        )


class StaffRecoveryCodesView(View):
    """Say how many recovery codes are left; make new ones (the old ones stop working)."""

    def get(self, request):
        return _two_factor_page(
            request,
            "admin/two_factor/recovery_codes.html",
            title=_("Recovery codes"),
            left=staff_recovery_codes_left(user=request.user),
            is_set_up=staff_two_factor_is_set_up(user=request.user),
        )

    def post(self, request):
        if not request.user.is_verified():
            # Codes are made only in a session confirmed with the second factor.
            return redirect(f"{reverse('two_factor:verify')}?next={request.path}")
        codes = staff_recovery_codes_generate(user=request.user)
        return _two_factor_page(
            request,
            "admin/two_factor/recovery_codes_new.html",
            title=_("Your recovery codes"),
            codes=codes,
        )
