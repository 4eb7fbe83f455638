"""The calendar snapshot every read of the schedule app runs from, and how it stays fresh.

The snapshot of the schedule tables is kept in the Django cache under a version token; each
process keeps the `Calendar` built from it and asks the cache for the token at most every
CALENDAR_REVALIDATE_SECONDS (not on every request: that round trip was most of a small page's
cost). The services change the token (after commit) whenever a manager saves something, and the
saving process forgets its calendar at once; the others pick the change up within that interval.

While the cache cannot answer (core.cache: Redis is away), each process serves its last calendar
and rebuilds it from the database at most every CALENDAR_FALLBACK_SECONDS; a save made in the
process rebuilds it at once. When the cache answers again, the process compares the database with
the snapshot behind the cached token, once, and changes the token if they differ: a save whose
token change was dropped during the outage is not lost behind the old token.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from threading import Lock

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.cache import cache_is_degraded
from schedule.calendar import (
    Calendar,
    ClosureRule,
    MaintenanceWindow,
    NoticeRow,
)
from schedule.models import Closure, Maintenance, Notice, ServiceHours

VERSION_KEY = "schedule:calendar:version"
DATA_KEY = "schedule:calendar:data:{version}"
DATA_TIMEOUT = 60 * 60 * 24
LANGUAGES = ("it", "en", "fr")
_DERIVED_SIZE = 256

logger = logging.getLogger(__name__)

_memo_lock = Lock()
_memo: dict[tuple, Calendar] = {}


@dataclass
class _Fallback:
    """The calendar a process serves while the cache is away, and until when it may."""

    settings_key: tuple
    calendar: Calendar
    settings_key: tuple
    fresh_until: float  # monotonic


@dataclass
class _Outage:
    """What this process remembers of a cache outage."""

    fallback: _Fallback | None = None
    # The cache was away while this process served or saved: compare before trusting the token.
    reconcile: bool = False


@dataclass
class _Checked:
    """The calendar this process last checked against the cache's token, and until when it is
    served without asking again (CALENDAR_REVALIDATE_SECONDS)."""

    calendar: Calendar
    settings_key: tuple
    fresh_until: float  # monotonic


_outage = _Outage()
_checked: _Checked | None = None
# Bumped by every save in this process (calendar_unpin): a calendar read before a save must not
# be kept as checked after it, or the saving process would serve the old one a while.
_generation = 0
_monotonic = time.monotonic  # the clock of the fallback's freshness (tests move it)
# The calendar a request works with, so that a page asks the cache for the token once.
_pinned: ContextVar[Calendar | None] = ContextVar("schedule_pinned_calendar", default=None)


def _minutes(value) -> int:
    return value.hour * 60 + value.minute


def _rows_load() -> dict:
    """Read the schedule tables into plain data that can go into the cache."""
    horizon = timezone.now() - timedelta(days=31)
    weekly: dict[int, list[tuple[int, int]]] = {}
    # Ordered to the last column, so that two loads of the same tables compare equal.
    for weekday, opens, closes in ServiceHours.objects.order_by(
        "weekday", "opens_at", "pk"
    ).values_list("weekday", "opens_at", "closes_at"):
        weekly.setdefault(weekday, []).append((_minutes(opens), _minutes(closes)))
    closures = [
        ClosureRule(
            pk=c.pk,
            first_day=c.first_day,
            last_day=c.last_day,
            recurs_yearly=c.recurs_yearly,
            titles={code: getattr(c, f"title_{code}") for code in LANGUAGES},
            revised=c.updated_at,
        )
        for c in Closure.objects.order_by("first_day", "pk")
    ]
    maintenance = [
        MaintenanceWindow(
            pk=m.pk,
            starts_at=m.starts_at,
            ends_at=m.ends_at,
            is_urgent=m.is_urgent,
            texts={code: getattr(m, f"text_{code}") for code in LANGUAGES},
            revised=m.updated_at,
        )
        for m in Maintenance.objects.order_by("-starts_at", "pk")
    ]
    notices = [
        NoticeRow(
            pk=n.pk,
            severity=n.severity,
            source=n.source,
            publish_from=n.publish_from,
            publish_until=n.publish_until,
            texts={code: getattr(n, f"text_{code}") for code in LANGUAGES},
            closure_pk=n.closure_id,
        )
        for n in Notice.objects.filter(publish_until__gte=horizon).order_by("-publish_from", "pk")
    ]
    return {"weekly": weekly, "closures": closures, "maintenance": maintenance, "notices": notices}


def _settings_key() -> tuple:
    return (
        settings.SERVICE_TIME_ZONE,
        settings.HOLIDAYS_COUNTRY,
        settings.HOLIDAYS_SUBDIVISION,
    )


def calendar_current() -> Calendar:
    """Return the service calendar, from this process's memory while the cache says it is fresh."""
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    checked = _checked
    if (
        checked is not None
        and _monotonic() < checked.fresh_until
        and checked.settings_key == _settings_key()
    ):
        return checked.calendar
    generation = _generation
    version = cache.get(VERSION_KEY)
    if cache_is_degraded():
        return _calendar_fallback()
    calendar, settled = _calendar_for(version)
    if settled:
        _calendar_checked(calendar, generation=generation)
    return calendar


def _calendar_checked(calendar: Calendar, *, generation: int) -> None:
    """Serve this calendar without asking the cache for CALENDAR_REVALIDATE_SECONDS, unless
    this process saved the calendar since its token was read."""
    global _checked
    interval = settings.CALENDAR_REVALIDATE_SECONDS
    if interval <= 0:
        return
    with _memo_lock:
        if generation == _generation:
            _checked = _Checked(calendar, _settings_key(), _monotonic() + interval)


def _calendar_for(version: str | None) -> tuple[Calendar, bool]:
    """Return the calendar behind the cache's token, building and publishing it if needed,
    and whether it is the token's (False when another process's token won meanwhile)."""
    if _outage.reconcile:
        version = _calendar_reconcile(version=version)
    key = (version, *_settings_key())
    calendar = _memo.get(key)
    if calendar is not None:
        return calendar, True
    rows = cache.get(DATA_KEY.format(version=version)) if version else None
    if rows is None:
        rows = _rows_load()
        if version is None:
            version = uuid.uuid4().hex
            cache.set(DATA_KEY.format(version=version), rows, DATA_TIMEOUT)
            if not cache.add(VERSION_KEY, version, None):
                # A save or another process set the token meanwhile (or the cache has just
                # gone away): serve what we read now and let the next call pick up theirs.
                return _calendar_build(rows, version), False
            key = (version, *key[1:])
        else:
            cache.set(DATA_KEY.format(version=version), rows, DATA_TIMEOUT)
    calendar = _calendar_build(rows, version)
    with _memo_lock:
        _memo.clear()
        _memo[key] = calendar
    # A write the cache dropped on the way (it has just gone away): ask again next time.
    return calendar, not cache_is_degraded()


def _calendar_fallback() -> Calendar:
    """Serve the calendar without the cache: the last one built, rebuilt from the database
    at most every CALENDAR_FALLBACK_SECONDS (a request each time would hammer the database)."""
    now = _monotonic()
    settings_key = _settings_key()
    with _memo_lock:
        _outage.reconcile = True
        fallback = _outage.fallback
        if fallback is None or fallback.settings_key != settings_key:
            fallback = None
            # The calendar this process last built from the cache is as fresh as it knows of.
            last = next((c for k, c in _memo.items() if k[1:] == settings_key), None)
            if last is not None:
                fallback = _outage.fallback = _Fallback(
                    settings_key, last, now + settings.CALENDAR_FALLBACK_SECONDS
                )
    if fallback is not None and now < fallback.fresh_until:
        return fallback.calendar
    calendar = _calendar_build(_rows_load(), f"local-{uuid.uuid4().hex}")
    with _memo_lock:
        _outage.fallback = _Fallback(
            settings_key, calendar, _monotonic() + settings.CALENDAR_FALLBACK_SECONDS
        )
    return calendar


def _calendar_reconcile(*, version: str | None) -> str | None:
    """Make sure the cached calendar is the database's after an outage; return the token.

    A save whose token change the cache dropped would otherwise stay hidden behind the old
    token. The new token carries no snapshot: readers load the tables after seeing it, so a
    save committed meanwhile cannot be overwritten by what this process read before it.
    """
    rows = _rows_load()
    cached = cache.get(DATA_KEY.format(version=version)) if version else None
    if cache_is_degraded():
        return version  # away again: try on a later call
    if cached != rows:
        version = uuid.uuid4().hex
        cache.set(VERSION_KEY, version, None)
        if cache_is_degraded():
            return version
        logger.info("Calendar: the cached snapshot was stale after a cache outage; replaced.")
    with _memo_lock:
        _outage.reconcile = False
        _outage.fallback = None
    return version


@contextmanager
def calendar_pinned() -> Iterator[Calendar]:
    """Serve one snapshot of the calendar for the duration of a request."""
    token = _pinned.set(calendar_current())
    try:
        yield _pinned.get()
    finally:
        _pinned.reset(token)


def calendar_unpin() -> None:
    """Forget the snapshot of the current request (a manager has just saved the calendar)."""
    global _checked, _generation
    _pinned.set(None)
    with _memo_lock:
        _generation += 1
        _checked = None
        # Without the cache, this process's copies are what it serves: rebuild at once.
        _memo.clear()
        _outage.fallback = None
        if cache_is_degraded():
            # The save's new token was dropped with the cache: compare once it is back.
            _outage.reconcile = True


def calendar_memoized(calendar: Calendar, key: tuple, build):
    """Return data derived from a calendar snapshot, computed once per snapshot and key."""
    found = calendar.derived.get(key)
    if found is None:
        if len(calendar.derived) > _DERIVED_SIZE:
            calendar.derived.clear()
        found = calendar.derived[key] = build()
    return found


def _calendar_build(rows: dict, version: str) -> Calendar:
    return Calendar(
        zone=settings.SERVICE_TIME_ZONE,
        weekly=rows["weekly"],
        closures=rows["closures"],
        maintenance=rows["maintenance"],
        notices=rows["notices"],
        country=settings.HOLIDAYS_COUNTRY or "",
        subdivision=settings.HOLIDAYS_SUBDIVISION or None,
        version=version,
    )
