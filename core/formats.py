"""How the portal writes quantities for people, in the language of the request."""

from datetime import timedelta

from django.utils.translation import gettext


def duration_display(value: timedelta | None) -> str:
    """Write a span of (service) time as hours and whole minutes, e.g. "3 h 05 min"; "—" if none."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    return gettext("%(hours)d h %(minutes)02d min") % {
        "hours": minutes // 60,
        "minutes": minutes % 60,
    }
