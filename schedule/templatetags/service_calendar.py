from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.utils import timezone

from schedule.selectors import days_off_upcoming, maintenance_list_upcoming, week_view

register = template.Library()

MINUTES_PER_DAY = 24 * 60
MAINTENANCE_SHOWN = 3


@register.inclusion_tag("schedule/_week.html", takes_context=True)
def service_week(context):
    """Draw this week's service hours, then the coming days off and maintenance, soonest first."""
    status = getattr(context.get("request"), "service_status", None)
    at = status.at if status else timezone.now()
    # The holiday or closure under way is the status box's news (with its reopening): not
    # "upcoming", and not to be told a second time.
    today_told = status is not None and status.state in ("holiday", "closure")
    today = timezone.localtime(at, ZoneInfo(settings.SERVICE_TIME_ZONE)).date()
    upcoming = [
        {"kind": item.kind, "first": item.first, "last": item.last, "label": item.label}
        for item in days_off_upcoming(at=at)
        if not (today_told and item.first <= today)
    ]
    for window in maintenance_list_upcoming(at=at)[:MAINTENANCE_SHOWN]:
        upcoming.append(
            {
                "kind": "maintenance",
                "first": timezone.localtime(window.starts_at).date(),
                "starts_at": window.starts_at,
                "ends_at": window.ends_at,
            }
        )
    upcoming.sort(key=lambda item: item["first"])  # stable: days off before maintenance
    return {"days": week_view(at=at), "upcoming": upcoming, "scale": MINUTES_PER_DAY}
