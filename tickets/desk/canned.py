"""Canned answers: managers keep them here; operators insert them on the ticket page."""

import string
from datetime import timedelta

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import CannedAnswer

USAGE_DAYS = 30


class CannedAnswerForm(forms.ModelForm):
    class Meta:
        model = CannedAnswer
        fields = ["name", "text_it", "text_en", "is_active"]
        help_texts = {
            "text_it": _(
                "Placeholders: {customer}, {ticket}, {product}, {latest_version}, {manuals}."
            ),
        }

    def _clean_text(self, name):
        text = self.cleaned_data[name]
        try:
            used = {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field}
        except ValueError as exc:
            raise forms.ValidationError(
                _("Braces must enclose a placeholder: %(error)s"), params={"error": exc}
            ) from exc
        unknown = sorted(used - set(CannedAnswer.PLACEHOLDERS))
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholders: %(names)s."),
                params={"names": ", ".join("{" + n + "}" for n in unknown)},
            )
        return text

    def clean_text_it(self):
        return self._clean_text("text_it")

    def clean_text_en(self):
        return self._clean_text("text_en")


@admin.register(CannedAnswer)
class CannedAnswerAdmin(admin.ModelAdmin):
    form = CannedAnswerForm
    list_display = ["name", "is_active", "recent_uses", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]

    def get_queryset(self, request):
        since = timezone.now() - timedelta(days=USAGE_DAYS)
        return (
            super()
            .get_queryset(request)
            .annotate(recent=Count("uses", filter=Q(uses__used_at__gte=since)))
        )

    @admin.display(description=_("replies sent in 30 days"), ordering="recent")
    def recent_uses(self, obj):
        return obj.recent
