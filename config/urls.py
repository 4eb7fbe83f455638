from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from core import views as core_views

admin.site.site_header = _("Technical support")
admin.site.site_title = _("Technical support")

urlpatterns = [
    path("health/", core_views.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before admin.site.urls: extra admin pages of the tickets app (remote access, dashboard).
    path("admin/", include("tickets.admin_urls")),
    # Staff's two-factor log-in (customers.admin_urls).
    path("admin/", include("customers.admin_urls")),
    path("admin/", admin.site.urls),
    path("account/", include("customers.urls")),
    path("schedule/", include("schedule.urls")),
    path("terms/", include("core.urls")),
    path("", include("tickets.portal.urls")),
]

# Django's own request limits (too many files or fields, a form too large) end up here too.
handler400 = "tickets.portal.files.request_refused"
