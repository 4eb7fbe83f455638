from django import template

from schedule.selectors import days_off_upcoming, maintenance_list_upcoming, week_view

register = template.Library()

MINUTES_PER_DAY = 24 * 60


@register.inclusion_tag("schedule/_week.html", takes_context=True)
def service_week(context):
    """Draw this week's service hours, marking holidays and closures."""
    status = getattr(context.get("request"), "service_status", None)
    at = status.at if status else None
    return {
        "days": week_view(at=at),
        "upcoming": days_off_upcoming(at=at),
        "maintenance": maintenance_list_upcoming(at=at)[:3],
        "scale": MINUTES_PER_DAY,
    }
