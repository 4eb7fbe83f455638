"""Writes to the service calendar. The admin saves through these; each one refreshes the cache."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.dates import datetime_long
from schedule.calendar import ClosureRule
from schedule.models import Closure, Maintenance, Notice, ServiceHours
from schedule.selectors import closure_notice_texts
from schedule.snapshot import LANGUAGES, VERSION_KEY, calendar_unpin

CLOSURE_FIELDS = ("title_it", "title_en", "title_fr", "first_day", "last_day", "recurs_yearly")
MAINTENANCE_FIELDS = ("starts_at", "ends_at", "is_urgent", "text_it", "text_en", "text_fr")
NOTICE_FIELDS = ("severity", "text_it", "text_en", "text_fr", "publish_from", "publish_until")
HOURS_FIELDS = ("weekday", "opens_at", "closes_at")
# How far in the past a new maintenance may start: the time it takes to fill in the form.
MAINTENANCE_START_TOLERANCE = timedelta(minutes=5)


def calendar_cache_invalidate() -> None:
    """Give the calendar a new version token, so every process reloads it on its next request."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    calendar_unpin()


def _invalidate_on_commit() -> None:
    transaction.on_commit(calendar_cache_invalidate)


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.SERVICE_TIME_ZONE)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=_zone())


def _apply(instance, data: dict, fields: tuple[str, ...]) -> None:
    unknown = set(data) - set(fields)
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(instance, name, value)


# Service hours ------------------------------------------------------------------------------------


def service_hours_check(*, hours: ServiceHours) -> None:
    """Refuse hours that end before they start or overlap other hours of the same day."""
    if hours.opens_at >= hours.closes_at:
        raise ValidationError({"closes_at": [_("The service must open before it closes.")]})
    overlapping = (
        ServiceHours.objects.filter(
            weekday=hours.weekday, opens_at__lt=hours.closes_at, closes_at__gt=hours.opens_at
        )
        .exclude(pk=hours.pk)
        .exists()
    )
    if overlapping:
        raise ValidationError(_("These hours overlap other hours of the same day."))


def service_hours_save(*, hours: ServiceHours, data: dict | None = None) -> ServiceHours:
    """Check and store an interval of service hours (new or changed)."""
    _apply(hours, data or {}, HOURS_FIELDS)
    service_hours_check(hours=hours)
    with transaction.atomic():
        hours.save()
        _invalidate_on_commit()
    return hours


def service_hours_delete(*, hours: ServiceHours) -> None:
    """Remove an interval of service hours."""
    with transaction.atomic():
        hours.delete()
        _invalidate_on_commit()


# Closures -----------------------------------------------------------------------------------------


def _closure_next_occurrence(*, closure: Closure, at: datetime) -> tuple[date, date] | None:
    rule = ClosureRule(
        pk=closure.pk or 0,
        first_day=closure.first_day,
        last_day=closure.last_day,
        recurs_yearly=closure.recurs_yearly,
        titles={},
    )
    today = timezone.localtime(at, _zone()).date()
    for year in (today.year, today.year + 1, today.year + 2):
        for first, last in rule.occurrences(year=year):
            if last >= today:
                return first, last
    return None


def _closure_notice_sync(*, closure: Closure, at: datetime) -> None:
    occurrence = _closure_next_occurrence(closure=closure, at=at)
    if occurrence is None:
        Notice.objects.filter(closure=closure).delete()
        return
    first, last = occurrence
    titles = {code: getattr(closure, f"title_{code}") for code in LANGUAGES}
    texts = closure_notice_texts(first=first, last=last, titles=titles)
    Notice.objects.update_or_create(
        closure=closure,
        defaults={
            "source": Notice.Source.CLOSURE,
            "severity": Notice.Severity.WARNING,
            "publish_from": at,
            "publish_until": _day_start(last + timedelta(days=1)),
            **{f"text_{code}": texts[code] for code in LANGUAGES},
        },
    )


def closure_save(
    *, closure: Closure, data: dict | None = None, at: datetime | None = None
) -> Closure:
    """Store a closure (new or changed) and create or update its notice."""
    _apply(closure, data or {}, CLOSURE_FIELDS)
    if closure.first_day > closure.last_day:
        raise ValidationError({"last_day": [_("The last day must not come before the first.")]})
    if closure.recurs_yearly and (closure.last_day - closure.first_day).days >= 365:
        raise ValidationError(
            {"recurs_yearly": [_("A closure that recurs every year must last less than a year.")]}
        )
    at = at or timezone.now()
    with transaction.atomic():
        closure.save()
        _closure_notice_sync(closure=closure, at=at)
        _invalidate_on_commit()
    return closure


def closure_delete(*, closure: Closure) -> None:
    """Remove a closure and its notice."""
    with transaction.atomic():
        closure.delete()
        _invalidate_on_commit()


# Maintenance --------------------------------------------------------------------------------------


def maintenance_check(
    *,
    starts_at: datetime,
    ends_at: datetime,
    is_urgent: bool,
    at: datetime | None = None,
    previous_start: datetime | None = None,
) -> None:
    """Refuse a window that ends before it starts, starts in the past, or lacks 24 hours' notice."""
    at = at or timezone.now()
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("The maintenance must end after it starts.")]})
    if ends_at <= at:
        raise ValidationError({"ends_at": [_("This maintenance would already be over.")]})
    notice = timedelta(hours=settings.SERVICE_MAINTENANCE_NOTICE_HOURS)
    unchanged = previous_start is not None and previous_start == starts_at
    # A start in the past would close the portal the moment it is saved, with no warning to
    # anyone. The tolerance covers the minutes spent filling in the form ("now" typed in).
    if starts_at < at - MAINTENANCE_START_TOLERANCE and not unchanged:
        raise ValidationError(
            {
                "starts_at": [
                    _(
                        "The maintenance cannot start in the past (it is %(now)s now): "
                        "choose a start from now on."
                    )
                    % {"now": datetime_long(at)}
                ]
            }
        )
    if starts_at - at < notice and not is_urgent and not unchanged:
        raise ValidationError(
            {
                "is_urgent": [
                    _(
                        "The terms promise %(hours)s hours' notice before maintenance: "
                        "tick “urgent” to start it sooner."
                    )
                    % {"hours": settings.SERVICE_MAINTENANCE_NOTICE_HOURS}
                ]
            }
        )


def _maintenance_notice_texts(*, maintenance: Maintenance) -> dict[str, str]:
    zone = _zone()
    texts = {}
    for code in LANGUAGES:
        with translation.override(code):
            texts[code] = _(
                "Extraordinary maintenance from %(start)s to %(end)s: "
                "the portal will not be reachable."
            ) % {
                # The format of the home page and the closures' notices, not the locale's.
                "start": datetime_long(timezone.localtime(maintenance.starts_at, zone)),
                "end": datetime_long(timezone.localtime(maintenance.ends_at, zone)),
            }
            extra = maintenance.text(code)
            if extra:
                texts[code] = f"{texts[code]} {extra}"
    return texts


def maintenance_save(
    *, maintenance: Maintenance, data: dict | None = None, at: datetime | None = None
) -> Maintenance:
    """Store a maintenance window (new or changed) and create or update its notice."""
    previous_start = None
    if maintenance.pk:
        previous_start = (
            Maintenance.objects.filter(pk=maintenance.pk)
            .values_list("starts_at", flat=True)
            .first()
        )
    _apply(maintenance, data or {}, MAINTENANCE_FIELDS)
    at = at or timezone.now()
    maintenance_check(
        starts_at=maintenance.starts_at,
        ends_at=maintenance.ends_at,
        is_urgent=maintenance.is_urgent,
        at=at,
        previous_start=previous_start,
    )
    texts = _maintenance_notice_texts(maintenance=maintenance)
    with transaction.atomic():
        maintenance.save()
        Notice.objects.update_or_create(
            maintenance=maintenance,
            defaults={
                "source": Notice.Source.MAINTENANCE,
                "severity": (
                    Notice.Severity.CRITICAL if maintenance.is_urgent else Notice.Severity.WARNING
                ),
                "publish_from": min(at, maintenance.starts_at),
                "publish_until": maintenance.ends_at,
                **{f"text_{code}": texts[code] for code in LANGUAGES},
            },
        )
        _invalidate_on_commit()
    return maintenance


def maintenance_delete(*, maintenance: Maintenance) -> None:
    """Cancel a maintenance window and its notice."""
    with transaction.atomic():
        maintenance.delete()
        _invalidate_on_commit()


# Notices ------------------------------------------------------------------------------------------


def notice_save(*, notice: Notice, data: dict | None = None) -> Notice:
    """Store a notice (new or changed)."""
    _apply(notice, data or {}, NOTICE_FIELDS)
    if notice.publish_until <= notice.publish_from:
        raise ValidationError({"publish_until": [_("The publication must end after it starts.")]})
    with transaction.atomic():
        notice.save()
        _invalidate_on_commit()
    return notice


def notice_delete(*, notice: Notice) -> None:
    """Withdraw a notice."""
    with transaction.atomic():
        notice.delete()
        _invalidate_on_commit()
