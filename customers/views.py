from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import View

from core.forms import form_errors_add
from customers.forms import (
    CustomerPasswordResetForm,
    LoginForm,
    ProfileForm,
    UnitRegisterForm,
    UnitReportLostForm,
)
from customers.mixins import CustomerRequiredMixin
from customers.models import Unit
from customers.selectors import unit_get_for_customer, unit_list_for_customer
from customers.services import customer_update_profile, unit_register, unit_report_lost


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


class PersonalDataView(CustomerRequiredMixin, View):
    """Everything the portal holds about the customer (terms, §11)."""

    def get(self, request):
        customer = self.customer
        tickets = customer.tickets.order_by("-received_at")
        return render(
            request,
            "customers/personal_data.html",
            {
                "customer": customer,
                "units": unit_list_for_customer(customer=customer),
                "ticket_count": tickets.count(),
                "last_login": request.user.last_login,
            },
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
