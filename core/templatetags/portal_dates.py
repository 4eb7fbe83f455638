"""Template filters for core.dates: `{% load portal_dates %}`, then `{{ day|long_date }}`."""

from django import template
from django.utils.html import format_html

from core import dates

register = template.Library()


@register.filter
def long_date(value) -> str:
    """Write a day in words with its weekday, in the reader's language's style."""
    return dates.date_long(value) if value else ""


@register.filter
def long_datetime(value) -> str:
    """Write an instant in words with its weekday and time, in the service zone."""
    return dates.datetime_long(value) if value else ""


@register.simple_tag
def time_short(value) -> str:
    """`<time>` of an instant: ISO 8601 for machines, figures in the reader's style for people."""
    if not value:
        return ""
    return format_html(
        '<time datetime="{}">{}</time>',
        dates.in_service_zone(value).isoformat(),
        dates.datetime_short(value),
    )
