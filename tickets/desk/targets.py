"""Service targets: managers set them here, per product with a default; the queue counts them."""

from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tickets.models import ServiceTarget


@admin.register(ServiceTarget)
class ServiceTargetAdmin(admin.ModelAdmin):
    list_display = ["scope", "first_response_hours", "next_update_hours", "updated_at"]
    list_select_related = ["product"]
    fields = ["product", "first_response_hours", "next_update_hours"]
    actions = None

    @admin.display(description=_("applies to"), ordering="product__name")
    def scope(self, obj):
        return str(obj)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "subtitle": _(
                "Counted in service hours, by the service calendar. Open tickets follow a change "
                "within %(seconds)s seconds."
            )
            % {"seconds": settings.SERVICE_TARGET_CHECK_SECONDS},
        }
        return super().changelist_view(request, extra_context=extra_context)
