"""Admin pages of the tickets app that are not a ModelAdmin's; mounted before admin.site.urls."""

from django.contrib import admin
from django.urls import path

from tickets.remote import admin as remote_admin
from tickets.reports import views as reports_views

app_name = "tickets_admin"

urlpatterns = [
    path(
        "tickets/ticket/<int:pk>/remote-access/",
        admin.site.admin_view(remote_admin.RemoteAccessAdminView.as_view()),
        name="remote-access",
    ),
    path(
        "tickets/ticket/<int:pk>/remote-access/reveal/",
        admin.site.admin_view(remote_admin.RemoteAccessRevealView.as_view()),
        name="remote-access-reveal",
    ),
    path(
        "tickets/dashboard/",
        admin.site.admin_view(reports_views.DashboardView.as_view()),
        name="dashboard",
    ),
    path(
        "tickets/dashboard/export.csv",
        admin.site.admin_view(reports_views.DashboardCsvView.as_view()),
        name="dashboard-csv",
    ),
]
