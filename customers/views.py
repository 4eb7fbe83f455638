from base64 import b32encode

import qrcode
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from qrcode.image.svg import SvgPathImage

from core.forms import form_errors_add
from customers.forms import (
    CustomerPasswordResetForm,
    InvitationAcceptForm,
    InvitationForm,
    LoginForm,
    MemberProfileForm,
    MemberScopeForm,
    ProfileForm,
    TwoFactorTokenForm,
    UnitRegisterForm,
    UnitReportLostForm,
)
from customers.mixins import CustomerRequiredMixin, OwnerRequiredMixin
from customers.models import Invitation, Member, Unit
from customers.selectors import (
    customer_access,
    invitation_list_pending,
    member_get_for_customer,
    member_list_for_customer,
    unit_get_for_customer,
    unit_list_for_customer,
)
from customers.services import (
    InvitationLinkError,
    customer_update_profile,
    invitation_accept,
    invitation_create,
    invitation_read,
    invitation_revoke,
    member_remove,
    member_scope_set,
    member_update_name,
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
        access = customer_access(form.get_user())
        if access is not None:
            # The profile's language wins at log-in; the switcher can still change it later.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                access.customer.language,
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
    """The workshop's details; its owner changes the contact and language, a member their name."""

    def get(self, request):
        return self.render(request, self.form())

    def form(self, data=None):
        if self.access.is_owner:
            return ProfileForm(data, instance=self.customer)
        user = self.request.user
        return MemberProfileForm(
            data, initial={"first_name": user.first_name, "last_name": user.last_name}
        )

    def post(self, request):
        form = self.form(request.POST)
        if not form.is_valid():
            self.customer.refresh_from_db()
            return self.render(request, form, status=400)
        if not self.access.is_owner:
            member_update_name(user=request.user, **form.cleaned_data)
            messages.success(request, _("Your profile has been saved."))
            return redirect("customers:profile")
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

    def render(self, request, form, status=200):
        return render(request, "customers/profile.html", {"form": form}, status=status)


# The workshop's people: the owner invites colleagues, sets what they see, removes them ------------


class TeamView(OwnerRequiredMixin, View):
    """The owner's page of the workshop's people: members, invitations waiting, a new one."""

    def get(self, request):
        return self.render(request, InvitationForm())

    def post(self, request):
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation = invitation_create(
                    customer=self.customer, by=request.user, **form.cleaned_data
                )
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request,
                    _("The invitation is on its way to %(email)s.") % {"email": invitation.email},
                )
                return redirect("customers:team")
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        now = timezone.now()
        invitations = list(invitation_list_pending(customer=self.customer))
        for invitation in invitations:
            invitation.is_expired = invitation.expires_at <= now
        return render(
            request,
            "customers/team.html",
            {
                "members": [
                    (member, MemberScopeForm(initial={"scope": member.scope}, prefix=member.pk))
                    for member in member_list_for_customer(customer=self.customer)
                ],
                "invitations": invitations,
                "form": form,
                "members_max": settings.WORKSHOP_MEMBERS_MAX,
            },
            status=status,
        )


class TeamMemberView(OwnerRequiredMixin, View):
    """Change what a member sees, or remove them (POST only: the team page holds the forms)."""

    def get_member(self, pk):
        try:
            return member_get_for_customer(customer=self.customer, pk=pk)
        except Member.DoesNotExist as exc:
            raise Http404 from exc

    def get(self, request, pk):
        return redirect("customers:team")

    def post(self, request, pk):
        member = self.get_member(pk)
        name = member.user.get_full_name() or member.user.email
        try:
            if "remove" in request.POST:
                member_remove(member=member)
                messages.success(
                    request,
                    _("%(name)s is no longer in your workshop: their log-in no longer works.")
                    % {"name": name},
                )
            else:
                form = MemberScopeForm(request.POST, prefix=member.pk)
                if not form.is_valid():
                    raise ValidationError(_("Choose which tickets the colleague sees."))
                member_scope_set(member=member, scope=form.cleaned_data["scope"])
                messages.success(
                    request,
                    _("%(name)s now sees: %(scope)s.")
                    % {"name": name, "scope": member.get_scope_display().lower()},
                )
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("customers:team")


class TeamInvitationView(OwnerRequiredMixin, View):
    """Send an invitation again (a fresh link and expiry), or withdraw it."""

    def get(self, request, pk):
        return redirect("customers:team")

    def post(self, request, pk):
        invitation = Invitation.objects.filter(
            customer=self.customer, status=Invitation.Status.PENDING, pk=pk
        ).first()
        if invitation is None:
            raise Http404
        try:
            if "withdraw" in request.POST:
                invitation_revoke(invitation=invitation)
                messages.success(
                    request,
                    _("The invitation of %(email)s is withdrawn: its link no longer works.")
                    % {"email": invitation.email},
                )
            else:
                invitation_create(
                    customer=self.customer,
                    by=request.user,
                    email=invitation.email,
                    scope=invitation.scope,
                )
                messages.success(
                    request,
                    _("The invitation is on its way to %(email)s.") % {"email": invitation.email},
                )
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("customers:team")


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("password1", "password2"), name="dispatch")
class InvitationAcceptView(View):
    """The page of an invitation's link: the colleague chooses a name and a password."""

    def dispatch(self, request, token):
        try:
            self.invitation = invitation_read(token=token)
        except InvitationLinkError as exc:
            return render(
                request, "customers/invitation_refused.html", {"message": str(exc)}, status=410
            )
        if request.user.is_authenticated:
            return render(
                request,
                "customers/invitation_refused.html",
                {
                    "message": _(
                        "You are logged in as %(user)s. Log out, then open the invitation's link "
                        "again to accept it."
                    )
                    % {"user": request.user.get_username()},
                    "logged_in": True,
                },
                status=409,
            )
        return super().dispatch(request, token)

    def get(self, request, token):
        return self.render(request, InvitationAcceptForm())

    def post(self, request, token):
        form = InvitationAcceptForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                member = invitation_accept(
                    invitation=self.invitation,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    password=data["password1"],
                )
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    form_errors_add(form, exc)
                else:
                    # The password validators' sentences belong under the password.
                    form.add_error("password1", exc)
            else:
                login(request, member.user, backend="customers.backends.CodeOrEmailBackend")
                messages.success(
                    request,
                    _("Welcome to %(company)s's support: you log in with %(email)s from now on.")
                    % {"company": self.invitation.customer.company, "email": member.user.email},
                )
                response = redirect("tickets:home")
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    self.invitation.customer.language,
                    samesite="Lax",
                    max_age=60 * 60 * 24 * 365,
                )
                return response
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        return render(
            request,
            "customers/invitation_accept.html",
            {"form": form, "invitation": self.invitation},
            status=status,
        )


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
