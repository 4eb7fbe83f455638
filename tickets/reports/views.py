"""The managers' dashboard in the admin: charts, the numbers beside them, and a CSV export."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from core.formats import duration_display
from tickets.models import Ticket
from tickets.reports.charts import (
    dashboard_charts,
    dashboard_csv,
    legend_html,
    satisfaction_table_rows,
)
from tickets.reports.selectors import dashboard_figures

PERMISSION = "tickets.view_dashboard"


@method_decorator(never_cache, name="dispatch")
class DashboardView(View):
    """Show the managers' figures as SVG charts with their tables."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        figures = dashboard_figures()
        charts = dashboard_charts(figures=figures)
        context = {
            **admin.site.each_context(request),
            "title": _("Service dashboard"),
            "opts": Ticket._meta,
            "figures": figures,
            "charts": charts,
            "target_sections": [
                (figures.targets_products, charts["targets_products"], _("Product")),
                (figures.targets_operators, charts["targets_operators"], _("Operator")),
            ],
            "satisfaction_sections": [
                (
                    satisfaction_table_rows(rows=rows, weeks=figures.weeks),
                    charts[key],
                    heading,
                )
                for rows, key, heading in (
                    (figures.satisfaction_products, "satisfaction_products", _("Product")),
                    (figures.satisfaction_operators, "satisfaction_operators", _("Operator")),
                )
            ],
            "legend": legend_html(figures=figures),
            "weekly_rows": list(zip(figures.weeks, figures.weekly_totals, strict=True)),
            "oldest_waiting": duration_display(figures.oldest_waiting_service),
            "response_median": duration_display(figures.response_median),
            "response_p90": duration_display(figures.response_p90),
        }
        return TemplateResponse(request, "admin/tickets/dashboard.html", context)


class DashboardCsvView(DashboardView):
    """Export the dashboard's figures as CSV."""

    def get(self, request):
        figures = dashboard_figures()
        response = HttpResponse(
            dashboard_csv(figures=figures), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.localtime(figures.at).strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="dashboard-{stamp}.csv"'
        return response
