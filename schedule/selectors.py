"""Reads of the service calendar, all computed from the cached snapshot (schedule.snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.dates import date_long
from schedule.calendar import (
    ONE_DAY,
    Calendar,
    MaintenanceWindow,
    pick_language,
)
from schedule.models import Notice
from schedule.snapshot import LANGUAGES, calendar_current, calendar_memoized

# Service time -------------------------------------------------------------------------------------


def service_time_between(*, start: datetime, end: datetime) -> timedelta:
    """Return the service time (inside service hours, outside closures) between two instants."""
    if end <= start:
        return timedelta(0)
    return calendar_current().service_time(start, end)


def calendar_version() -> str:
    """Return the token of the calendar in force: it changes whenever a manager saves a change."""
    return calendar_current().version


def service_time_add(*, start: datetime, duration: timedelta) -> datetime | None:
    """Return when `duration` of service time will have elapsed after `start` (None: never)."""
    calendar = calendar_current()
    found = calendar.service_time_add(start, duration)
    return found.astimezone(calendar.zone) if found else None


def service_next_opening(*, at: datetime | None = None) -> datetime | None:
    """Return the first instant at or after `at` when the service is open, in the service zone."""
    calendar = calendar_current()
    found = calendar.next_opening(at or timezone.now())
    return found.astimezone(calendar.zone) if found else None


# Notices ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveNotice:
    key: str
    severity: str
    source: str
    text: str
    texts: dict[str, str]
    publish_from: datetime
    publish_until: datetime


def _holiday_text(day: date, names: dict[str, str], language: str) -> str:
    with translation.override(language):
        return _("No support service on %(day)s: national holiday (%(name)s).") % {
            "day": date_long(day),
            "name": pick_language(names, language),
        }


def closure_notice_texts(*, first: date, last: date, titles: dict[str, str]) -> dict[str, str]:
    """Return the announcement of a closure in every portal language."""
    texts = {}
    for code in LANGUAGES:
        with translation.override(code):
            if first == last:
                text = _("The support service is closed on %(first)s: %(title)s.")
            else:
                text = _("The support service is closed from %(first)s to %(last)s: %(title)s.")
            texts[code] = text % {
                "first": date_long(first),
                "last": date_long(last),
                "title": pick_language(titles, code),
            }
    return texts


def notice_list_active(
    *, at: datetime | None = None, language: str | None = None
) -> list[ActiveNotice]:
    """Return the notices to show at an instant: managers', closures', maintenance, holidays."""
    at = at or timezone.now()
    language = (language or get_language() or "it")[:2]
    calendar = calendar_current()
    found: list[ActiveNotice] = []
    stored = calendar.notices_at(at)
    for row in stored:
        found.append(
            ActiveNotice(
                key=f"notice-{row.pk}",
                severity=row.severity,
                source=row.source,
                text=pick_language(row.texts, language),
                texts=row.texts,
                publish_from=row.publish_from,
                publish_until=row.publish_until,
            )
        )
    today = calendar.local_date(at)
    days = settings.SERVICE_HOLIDAY_NOTICE_DAYS
    announced = {row.closure_pk for row in stored if row.closure_pk}
    announcements = calendar_memoized(
        calendar,
        ("announcements", today, language, days),
        lambda: _announcements(calendar=calendar, today=today, language=language, days=days),
    )
    found.extend(notice for pk, notice in announcements if pk is None or pk not in announced)
    return found


def _announcements(
    *, calendar: Calendar, today: date, language: str, days: int
) -> list[tuple[int | None, ActiveNotice]]:
    """Announce upcoming holidays and next year's recurring closures, which nobody saves again.

    Each announcement comes with its closure's key, so that a closure whose own notice is
    published is not announced twice.
    """
    found = []
    seen_closures: set[tuple] = set()
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        names = calendar.holiday_names(day)
        ends = datetime.combine(day + ONE_DAY, datetime.min.time(), tzinfo=calendar.zone)
        if names is not None and calendar.weekly[day.weekday()]:
            starts = ends - timedelta(days=days + 1)
            found.append(
                (
                    None,
                    ActiveNotice(
                        key=f"holiday-{day.isoformat()}",
                        severity=Notice.Severity.INFO,
                        source="holiday",
                        text=_holiday_text(day, names, language),
                        texts={code: _holiday_text(day, names, code) for code in LANGUAGES},
                        publish_from=starts,
                        publish_until=ends,
                    ),
                )
            )
            continue
        off = calendar.day_off(day)
        if off is None or off.kind != "closure" or not off.closure.recurs_yearly:
            continue
        if (off.closure.pk, off.occurrence) in seen_closures:
            continue
        seen_closures.add((off.closure.pk, off.occurrence))
        first, last = off.occurrence
        texts = closure_notice_texts(first=first, last=last, titles=off.closure.titles)
        found.append(
            (
                off.closure.pk,
                ActiveNotice(
                    key=f"closure-{off.closure.pk}-{first.isoformat()}",
                    severity=Notice.Severity.WARNING,
                    source=Notice.Source.CLOSURE,
                    text=pick_language(texts, language),
                    texts=texts,
                    publish_from=datetime.combine(first, datetime.min.time(), tzinfo=calendar.zone)
                    - timedelta(days=days),
                    publish_until=datetime.combine(
                        last + ONE_DAY, datetime.min.time(), tzinfo=calendar.zone
                    ),
                ),
            )
        )
    return found


# What the home page shows -------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekDay:
    day: date
    weekday: int
    is_today: bool
    intervals: list[tuple[str, str, int, int]]  # opens, closes, x and width in minutes
    day_off: str
    kind: str


def week_view(*, at: datetime | None = None, language: str | None = None) -> list[WeekDay]:
    """Return the current week (Monday to Sunday) with its hours and its days off."""
    calendar = calendar_current()
    at = at or timezone.now()
    language = (language or get_language() or "it")[:2]
    today = calendar.local_date(at)
    return calendar_memoized(
        calendar,
        ("week", today, language),
        lambda: _week_build(calendar=calendar, today=today, language=language),
    )


def _week_build(*, calendar: Calendar, today: date, language: str) -> list[WeekDay]:
    monday = today - timedelta(days=today.weekday())
    days = []
    for index in range(7):
        day = monday + timedelta(days=index)
        off = calendar.day_off(day)
        label = ""
        if off is not None:
            label = pick_language(off.names, language)
        days.append(
            WeekDay(
                day=day,
                weekday=index,
                is_today=day == today,
                intervals=[
                    (f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}", a, b - a)
                    for a, b in calendar.weekly[index]
                ],
                day_off=label,
                kind=off.kind if off else "",
            )
        )
    return days


@dataclass(frozen=True)
class DaysOff:
    first: date
    last: date
    kind: str
    label: str


def days_off_upcoming(
    *, at: datetime | None = None, days: int | None = None, language: str | None = None
) -> list[DaysOff]:
    """Return the holidays and closures in the coming days, consecutive days grouped."""
    calendar = calendar_current()
    at = at or timezone.now()
    days = days if days is not None else settings.SERVICE_UPCOMING_DAYS
    language = (language or get_language() or "it")[:2]
    today = calendar.local_date(at)
    return calendar_memoized(
        calendar,
        ("days-off", today, language, days),
        lambda: _days_off_build(calendar=calendar, today=today, language=language, days=days),
    )


def _days_off_build(*, calendar: Calendar, today: date, language: str, days: int) -> list[DaysOff]:
    found: list[DaysOff] = []
    seen: set = set()
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        names = calendar.holiday_names(day)
        if names is not None and calendar.weekly[day.weekday()]:
            found.append(DaysOff(day, day, "holiday", pick_language(names, language)))
        off = calendar.closures_of_year(day.year).get(day)
        if off is not None and (off.closure.pk, off.occurrence) not in seen:
            seen.add((off.closure.pk, off.occurrence))
            first, last = off.occurrence
            found.append(DaysOff(first, last, "closure", pick_language(off.names, language)))
    found.sort(key=lambda item: (item.first, item.kind))
    return found


def maintenance_list_upcoming(*, at: datetime | None = None) -> list[MaintenanceWindow]:
    """Return the maintenance windows that have not ended yet, soonest first."""
    at = at or timezone.now()
    return [m for m in calendar_current().maintenance if m.ends_at > at]
