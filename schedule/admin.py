"""Managers edit the calendar here; every save and delete goes through schedule.services."""

from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.dates import zone_name
from schedule import services
from schedule.models import Closure, Maintenance, Notice, ServiceHours


class ServiceWriteAdmin(admin.ModelAdmin):
    """Route saves and deletes through the calendar's services (they refresh the cache).

    Each subclass names its two service functions and the keyword they take the object by.
    """

    service_save: Callable[..., object]
    service_delete: Callable[..., object]
    service_argument: str

    def save_model(self, request, obj, form, change):
        self.service_save(**{self.service_argument: obj})

    def delete_model(self, request, obj):
        self.service_delete(**{self.service_argument: obj})

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class ServiceHoursForm(forms.ModelForm):
    class Meta:
        model = ServiceHours
        fields = ["weekday", "opens_at", "closes_at"]

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                candidate = ServiceHours(
                    pk=self.instance.pk,
                    weekday=cleaned.get("weekday"),
                    opens_at=cleaned.get("opens_at"),
                    closes_at=cleaned.get("closes_at"),
                )
                services.service_hours_check(hours=candidate)
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


@admin.register(ServiceHours)
class ServiceHoursAdmin(ServiceWriteAdmin):
    form = ServiceHoursForm
    list_display = ["weekday", "opens_at", "closes_at"]
    list_filter = ["weekday"]
    ordering = ["weekday", "opens_at"]

    service_save = staticmethod(services.service_hours_save)
    service_delete = staticmethod(services.service_hours_delete)
    service_argument = "hours"


@admin.register(Closure)
class ClosureAdmin(ServiceWriteAdmin):
    list_display = ["title_it", "first_day", "last_day", "recurs_yearly"]
    list_filter = ["recurs_yearly"]
    search_fields = ["title_it", "title_en", "title_fr"]
    date_hierarchy = "first_day"
    fieldsets = [
        (None, {"fields": ["first_day", "last_day", "recurs_yearly"]}),
        (_("Title"), {"fields": ["title_it", "title_en", "title_fr"]}),
    ]

    service_save = staticmethod(services.closure_save)
    service_delete = staticmethod(services.closure_delete)
    service_argument = "closure"


class ServiceZoneForm(forms.ModelForm):
    """Say beside each date and time which zone it is in: the service's, whatever the browser's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.DateTimeField | forms.SplitDateTimeField):
                zone = gettext("Time in the service's time zone (%(zone)s).") % {
                    "zone": zone_name()
                }
                field.help_text = f"{field.help_text} {zone}".strip()


class MaintenanceForm(ServiceZoneForm):
    class Meta:
        model = Maintenance
        fields = ["starts_at", "ends_at", "is_urgent", "text_it", "text_en", "text_fr"]

    def clean(self):
        cleaned = super().clean()
        if {"starts_at", "ends_at"} <= cleaned.keys() and not self.errors:
            try:
                services.maintenance_check(
                    starts_at=cleaned["starts_at"],
                    ends_at=cleaned["ends_at"],
                    is_urgent=cleaned.get("is_urgent", False),
                    previous_start=self.initial.get("starts_at") if self.instance.pk else None,
                )
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


@admin.register(Maintenance)
class MaintenanceAdmin(ServiceWriteAdmin):
    form = MaintenanceForm
    list_display = ["starts_at", "ends_at", "is_urgent", "text_it"]
    list_filter = ["is_urgent"]
    date_hierarchy = "starts_at"

    service_save = staticmethod(services.maintenance_save)
    service_delete = staticmethod(services.maintenance_delete)
    service_argument = "maintenance"


class NoticeForm(ServiceZoneForm):
    class Meta:
        model = Notice
        fields = ["severity", "publish_from", "publish_until", "text_it", "text_en", "text_fr"]


@admin.register(Notice)
class NoticeAdmin(ServiceWriteAdmin):
    form = NoticeForm
    list_display = ["text_it", "severity", "source", "publish_from", "publish_until"]
    list_filter = ["severity", "source"]
    search_fields = ["text_it", "text_en", "text_fr"]
    readonly_fields = ["source", "closure", "maintenance"]
    list_select_related = ["closure", "maintenance"]
    fields = [
        "severity",
        "publish_from",
        "publish_until",
        "text_it",
        "text_en",
        "text_fr",
        "source",
        "closure",
        "maintenance",
    ]

    service_save = staticmethod(services.notice_save)
    service_delete = staticmethod(services.notice_delete)
    service_argument = "notice"
