"""The customer's personal data (terms, §11): the page, its archive, and the erasure request.

Served by the tickets app although the page sits under /account/: the archive and the erasure
read and change the tickets, and customers sits below tickets (tests/test_architecture.py).
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from core.forms import form_errors_add
from core.storage import stored_file_response
from customers.mixins import OwnerRequiredMixin
from customers.models import PersonalDataExport
from customers.selectors import unit_list_for_customer
from tickets.personal_data import erasure_request_create, personal_data_export_request
from tickets.personal_data_archive import (
    erasure_request_pending,
    personal_data_export_get_for_customer,
    personal_data_export_latest,
)


class ErasureRequestForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password, to confirm"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def export_status(export: PersonalDataExport | None) -> dict:
    """What the page and its status endpoint say about the newest archive."""
    if export is None:
        return {"status": None}
    ready = export.status == PersonalDataExport.Status.READY and (
        export.expires_at is None or export.expires_at > timezone.now()
    )
    status = export.status
    if status == PersonalDataExport.Status.READY and not ready:
        status = PersonalDataExport.Status.EXPIRED
    return {
        "status": status,
        "label": str(PersonalDataExport.Status(status).label),
        "done": export.done,
        "total": export.total,
        "percent": export.percent,
        "download_url": (
            reverse("tickets:personal-data-download", args=[export.pk]) if ready else None
        ),
    }


class PersonalDataView(OwnerRequiredMixin, View):
    """Everything the portal holds about the customer (terms, §11), its archive and erasure."""

    def get(self, request):
        return self.render(request, ErasureRequestForm())

    def render(self, request, form, status=200):
        customer = self.customer
        export = personal_data_export_latest(customer=customer)
        return render(
            request,
            "customers/personal_data.html",
            {
                "customer": customer,
                "units": unit_list_for_customer(customer=customer),
                "ticket_count": customer.tickets.count(),
                "last_login": request.user.last_login,
                "export": export,
                "export_state": export_status(export),
                "export_hours": settings.PERSONAL_DATA_EXPORT_HOURS,
                "erasure_pending": erasure_request_pending(customer=customer),
                "erasure_form": form,
            },
            status=status,
        )


class PersonalDataExportRequestView(OwnerRequiredMixin, View):
    """Ask for the archive; a worker builds it and the page follows its progress."""

    def post(self, request):
        try:
            personal_data_export_request(customer=self.customer, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, _("Your archive is being prepared. This page shows when it is ready.")
            )
        return redirect("tickets:personal-data")


class PersonalDataExportStatusView(OwnerRequiredMixin, View):
    """The newest archive's progress, as JSON, for the page's script."""

    def get(self, request):
        export = personal_data_export_latest(customer=self.customer)
        response = JsonResponse(export_status(export))
        response["Cache-Control"] = "no-store, private"
        return response


class PersonalDataExportDownloadView(OwnerRequiredMixin, View):
    """Hand the archive to its own customer while it lasts; 404 for anyone else or after."""

    def get(self, request, pk):
        try:
            export = personal_data_export_get_for_customer(customer=self.customer, pk=pk)
        except PersonalDataExport.DoesNotExist as exc:
            raise Http404 from exc
        if (
            export.status != PersonalDataExport.Status.READY
            or not export.file.name
            or export.expires_at is None
            or export.expires_at <= timezone.now()
        ):
            raise Http404
        response = stored_file_response(
            export.file,
            as_attachment=True,
            filename=f"personal-data-{self.customer.code}-{export.ready_at:%Y%m%d}.zip",
            content_type="application/zip",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store, private"
        return response


class ErasureRequestView(OwnerRequiredMixin, View):
    """Ask the managers to erase the account, the password confirming who asks."""

    def post(self, request):
        form = ErasureRequestForm(request.POST)
        if form.is_valid():
            try:
                erasure_request_create(
                    customer=self.customer,
                    user=request.user,
                    password=form.cleaned_data["password"],
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Your request to erase your account has been sent. A manager will "
                        "confirm it and you will receive an e-mail."
                    ),
                )
                return redirect("tickets:personal-data")
        return PersonalDataView(customer=self.customer).render(request, form, status=400)
