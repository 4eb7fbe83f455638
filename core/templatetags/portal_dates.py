"""Template filters for core.dates: `{% load portal_dates %}`, then `{{ day|long_date }}`."""

from django import template

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
