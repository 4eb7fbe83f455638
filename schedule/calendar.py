"""The service calendar as plain data, with the arithmetic that the gate and selectors use.

A `Calendar` is built from a snapshot of the schedule tables (cached, see `schedule.snapshot`)
and never touches the database. Service hours are wall-clock intervals in the service zone; a
minute is service time when its local wall-clock time falls inside an interval of a working day
(no holiday, no closure) and outside every maintenance window. Summer-time changes therefore
shorten or lengthen an interval exactly as a clock on the wall would.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from threading import Lock
from zoneinfo import ZoneInfo

import holidays
from dateutil.rrule import YEARLY, rrule

ONE_DAY = timedelta(days=1)
ONE_MINUTE = timedelta(minutes=1)
ONE_MICROSECOND = timedelta(microseconds=1)
# How far ahead "when does the service open next?" looks before giving up.
OPENING_HORIZON_DAYS = 800
_DAY_CACHE_SIZE = 4096
# How many days either side of the first day asked about keep a running total of service time
# (one integer a day); service time reaching beyond them is walked day by day.
_PREFIX_DAYS = 40 * 366


@dataclass(frozen=True)
class ClosureRule:
    pk: int
    first_day: date
    last_day: date
    recurs_yearly: bool
    titles: dict[str, str]
    revised: datetime | None = None  # when a manager last saved it (DTSTAMP of the feed)

    def occurrences(self, *, year: int) -> list[tuple[date, date]]:
        """Return the (first, last) days of the occurrences that touch a calendar year."""
        if not self.recurs_yearly:
            if self.first_day.year <= year <= self.last_day.year:
                return [(self.first_day, self.last_day)]
            return []
        length = self.last_day - self.first_day
        start = datetime.combine(self.first_day, time())
        found = rrule(YEARLY, dtstart=start).between(
            # Naive on purpose: closures are whole local days, rrule only steps the dates.
            datetime.combine(date(year - 1 - length.days // 366, 1, 1), time()),
            datetime.combine(date(year, 12, 31), time()),
            inc=True,
        )
        return [
            (d.date(), d.date() + length)
            for d in found
            if d.date().year <= year <= (d.date() + length).year
        ]


@dataclass(frozen=True)
class MaintenanceWindow:
    pk: int
    starts_at: datetime
    ends_at: datetime
    is_urgent: bool
    texts: dict[str, str]
    revised: datetime | None = None


@dataclass(frozen=True)
class NoticeRow:
    pk: int | str
    severity: str
    source: str
    publish_from: datetime
    publish_until: datetime
    texts: dict[str, str]
    closure_pk: int | None = None


@dataclass(frozen=True)
class DayOff:
    kind: str  # "holiday" or "closure"
    day: date
    names: dict[str, str] = field(default_factory=dict)
    closure: ClosureRule | None = None
    occurrence: tuple[date, date] | None = None


def pick_language(texts: dict[str, str], language: str | None) -> str:
    """Return the text in a language, falling back to Italian, then English."""
    for code in ((language or "it")[:2], "it", "en"):
        if texts.get(code):
            return texts[code]
    return ""


# The package's localisations to ask for, best first, for each portal language.
_HOLIDAY_LANGUAGES = {"it": ("it_IT",), "en": ("en_GB", "en_US"), "fr": ("fr_FR", "fr")}
# The service writes British English: the names the package has only in American English.
_BRITISH_NAMES = {"Labor Day": "Labour Day", "Assumption Of Mary Day": "Assumption of Mary"}


@lru_cache(maxsize=256)
def _holidays_of_year(country: str, subdivision: str | None, year: int) -> dict[date, dict]:
    """Return the national holidays of a year with their names in it, en and fr (lazily)."""
    if not country:
        return {}
    names: dict[date, dict] = {}
    supported = holidays.list_localized_countries().get(country, [])
    fallback = holidays.country_holidays(country).default_language
    for code, locales in _HOLIDAY_LANGUAGES.items():
        locale = next((locale for locale in locales if locale in supported), fallback)
        # Without an explicit language the package follows the LANG of the process.
        table = holidays.country_holidays(
            country, subdiv=subdivision or None, years=year, language=locale
        )
        for day, name in table.items():
            if locale == "en_US":
                name = _BRITISH_NAMES.get(name, name)
            names.setdefault(day, {})[code] = name
    return names


class Calendar:
    """Service hours, holidays, closures and maintenance, answering questions about instants."""

    def __init__(
        self,
        *,
        zone: str,
        weekly: dict[int, list[tuple[int, int]]],
        closures: list[ClosureRule] = (),
        maintenance: list[MaintenanceWindow] = (),
        notices: list[NoticeRow] = (),
        country: str = "",
        subdivision: str | None = None,
        version: str = "",
    ):
        self.zone = ZoneInfo(zone)
        self.weekly = {d: _merge(weekly.get(d, [])) for d in range(7)}
        self.closures = list(closures)
        self.notices = sorted(notices, key=lambda n: n.publish_from)
        self.country = country
        self.subdivision = subdivision
        self.version = version
        windows = sorted(maintenance, key=lambda m: m.starts_at)
        self.maintenance = windows
        self._downtime = _merge_instants([(m.starts_at, m.ends_at) for m in windows])
        self._downtime_starts = [a for a, _b in self._downtime]
        self._closed_years: dict[int, dict[date, DayOff]] = {}
        self._day_intervals: dict[date, list[tuple[datetime, datetime]]] = {}
        # Running totals of whole days' service time, in microseconds, from an anchor day's
        # ordinal: _ahead[k] sums the days anchor .. anchor+k-1, _behind[k] the days
        # anchor-k .. anchor-1. Append-only, so readers need no lock; writers take it.
        self._prefix_lock = Lock()
        self._prefix_anchor: int | None = None
        self._prefix_ahead: list[int] = [0]
        self._prefix_behind: list[int] = [0]
        self.has_hours = any(self.weekly.values())
        # Views of this snapshot that selectors compute once (announcements, the week...).
        self.derived: dict[tuple, object] = {}

    # Days ---------------------------------------------------------------------------------------

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def holiday_names(self, day: date) -> dict[str, str] | None:
        return _holidays_of_year(self.country, self.subdivision, day.year).get(day)

    def closures_of_year(self, year: int) -> dict[date, DayOff]:
        cached = self._closed_years.get(year)
        if cached is not None:
            return cached
        days: dict[date, DayOff] = {}
        for rule in self.closures:
            for first, last in rule.occurrences(year=year):
                day = max(first, date(year, 1, 1))
                while day <= last and day.year == year:
                    days.setdefault(
                        day,
                        DayOff("closure", day, rule.titles, closure=rule, occurrence=(first, last)),
                    )
                    day += ONE_DAY
        self._closed_years[year] = days
        return days

    def day_off(self, day: date) -> DayOff | None:
        """Return why a day has no service at all (holiday first, then closure), or None."""
        names = self.holiday_names(day)
        if names is not None:
            return DayOff("holiday", day, names)
        return self.closures_of_year(day.year).get(day)

    def day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """Return the day's service hours as UTC instants (ignoring holidays and maintenance)."""
        cached = self._day_intervals.get(day)
        if cached is not None:
            return cached
        result = self._day_intervals_compute(day)
        if len(self._day_intervals) > _DAY_CACHE_SIZE:
            self._day_intervals.clear()
        self._day_intervals[day] = result
        return result

    def _day_intervals_compute(self, day: date) -> list[tuple[datetime, datetime]]:
        result: list[tuple[datetime, datetime]] = []
        wall_midnight = datetime.combine(day, time(), tzinfo=UTC)
        for seg_start, seg_end, offset in self._segments(day):
            wall_a, wall_b = seg_start + offset, seg_end + offset
            for opens, closes in self.weekly[day.weekday()]:
                a = max(wall_a, wall_midnight + timedelta(minutes=opens))
                b = min(wall_b, wall_midnight + timedelta(minutes=closes))
                if a < b:
                    result.append((a - offset, b - offset))
        result.sort()
        return result

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)

    def _segments(self, day: date) -> list[tuple[datetime, datetime, timedelta]]:
        """Split a local day into UTC stretches of constant offset (two on a DST Sunday)."""
        start, end = self._midnight(day), self._midnight(day + ONE_DAY)
        first = start.astimezone(self.zone).utcoffset()
        last = (end - ONE_MINUTE).astimezone(self.zone).utcoffset()
        if first == last:
            return [(start, end, first)]
        low, high = 0, int((end - start) / ONE_MINUTE) - 1
        while low < high:  # first minute with the new offset
            middle = (low + high) // 2
            if (start + middle * ONE_MINUTE).astimezone(self.zone).utcoffset() == last:
                high = middle
            else:
                low = middle + 1
        switch = start + low * ONE_MINUTE
        return [(start, switch, first), (switch, end, last)]

    # Maintenance --------------------------------------------------------------------------------

    def maintenance_at(self, at: datetime) -> MaintenanceWindow | None:
        """Return the maintenance window in force at an instant, if any."""
        index = bisect.bisect_right(self._downtime_starts, at) - 1
        if index < 0 or self._downtime[index][1] <= at:
            return None
        for window in self.maintenance:
            if window.starts_at <= at < window.ends_at:
                return window
        return None  # pragma: no cover - the merged list says there is one

    def downtime_end(self, at: datetime) -> datetime | None:
        """Return when the (merged) maintenance in force at an instant ends."""
        index = bisect.bisect_right(self._downtime_starts, at) - 1
        if index >= 0 and self._downtime[index][1] > at:
            return self._downtime[index][1]
        return None

    def _minus_downtime(self, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
        index = max(bisect.bisect_right(self._downtime_starts, a) - 1, 0)
        for down_a, down_b in self._downtime[index:]:
            if down_a >= b:
                break
            if down_b <= a:
                continue
            if down_a > a:
                yield a, down_a
            a = max(a, down_b)
            if a >= b:
                return
        if a < b:
            yield a, b

    # Service time -------------------------------------------------------------------------------

    def open_spans(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield, in order, the stretches of service time between two instants."""
        if not self.has_hours or end <= start:
            return
        day, last = self.local_date(start), self.local_date(end)
        while day <= last:
            # `_day_spans` inlined: the gate walks closed days here on every closed-hours page.
            if self.weekly[day.weekday()] and self.day_off(day) is None:
                for a, b in self.day_intervals(day):
                    a, b = max(a, start), min(b, end)
                    if a < b:
                        yield from self._minus_downtime(a, b)
            day += ONE_DAY

    def _day_spans(
        self, day: date, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, datetime]]:
        """Yield the stretches of service time of one local day that fall between two instants
        (one day of `open_spans`)."""
        if self.weekly[day.weekday()] and self.day_off(day) is None:
            for a, b in self.day_intervals(day):
                a, b = max(a, start), min(b, end)
                if a < b:
                    yield from self._minus_downtime(a, b)

    def service_time(self, start: datetime, end: datetime) -> timedelta:
        """Return the service time elapsed between two instants.

        The whole days between the first and the last local day come from running totals kept
        per day (computed once per calendar, as far as queries reach); only the first and the
        last day are cut at the instants, as `open_spans` does. The sum is the same, microsecond
        for microsecond, as walking every day (`_service_time_walk`).
        """
        if not self.has_hours or end <= start:
            return timedelta(0)
        first, last = self.local_date(start), self.local_date(end)
        inner_first, inner_end = first + ONE_DAY, last  # the whole days: [inner_first, last)
        # Every whole day's stretches must lie between the instants, as they do in a walk; a zone
        # whose clock steps back across midnight could break that, and then the walk answers.
        if (
            inner_first < inner_end
            and start <= self._midnight(inner_first)
            and self._midnight(inner_end) <= end
        ):
            high = self._prefix(inner_end.toordinal())
            low = self._prefix(inner_first.toordinal()) if high is not None else None
            if low is not None:
                total = timedelta(microseconds=high - low)
                for day in (first, last):
                    for a, b in self._day_spans(day, start, end):
                        total += b - a
                return total
        return self._service_time_walk(start, end)

    def _service_time_walk(self, start: datetime, end: datetime) -> timedelta:
        """Service time by walking every local day: the reference `service_time` must equal."""
        total = timedelta(0)
        for a, b in self.open_spans(start, end):
            total += b - a
        return total

    def _prefix(self, ordinal: int) -> int | None:
        """Return the service time (µs) of the whole days from the anchor to a day, negative
        before it; None beyond the days kept. Extends the running totals as far as needed."""
        anchor = self._prefix_anchor
        if anchor is None:
            with self._prefix_lock:
                if self._prefix_anchor is None:
                    self._prefix_anchor = ordinal
                anchor = self._prefix_anchor
        offset = ordinal - anchor
        if abs(offset) > _PREFIX_DAYS:
            return None
        ahead = offset >= 0
        table = self._prefix_ahead if ahead else self._prefix_behind
        offset = abs(offset)
        if offset >= len(table):
            with self._prefix_lock:
                # Another thread may have extended the table meanwhile: go on from its end.
                running = table[-1]
                for k in range(len(table), offset + 1):
                    # Ahead, entry k adds the day anchor+k-1; behind, the day anchor-k.
                    day = date.fromordinal(anchor + k - 1 if ahead else anchor - k)
                    running += self._day_service(day)
                    table.append(running)
        return table[offset] if ahead else -table[offset]

    def _day_service(self, day: date) -> int:
        """Return the service time (µs) of a whole local day, from the same spans as a walk."""
        if not self.weekly[day.weekday()] or self.day_off(day) is not None:
            return 0
        total = timedelta(0)
        for a, b in self._day_intervals_compute(day):
            for x, y in self._minus_downtime(a, b):
                total += y - x
        return total // ONE_MICROSECOND

    def service_time_add(self, start: datetime, duration: timedelta) -> datetime | None:
        """Return the instant when `duration` of service time has elapsed after `start`.

        The inverse of `service_time`: service_time(start, result) == duration, and result is the
        earliest such instant (so a target of zero is due at `start`, and a span that ends
        exactly at a closing time is due at that closing time). None when the calendar has no
        service time for that long within OPENING_HORIZON_DAYS.
        """
        if duration <= timedelta(0):
            return start
        remaining = duration
        horizon = start + timedelta(days=OPENING_HORIZON_DAYS)
        for a, b in self.open_spans(start, horizon):
            if b - a >= remaining:
                return a + remaining
            remaining -= b - a
        return None

    def next_opening(self, at: datetime) -> datetime | None:
        """Return the first instant at or after `at` when the service is open."""
        for a, _b in self.open_spans(at, at + timedelta(days=OPENING_HORIZON_DAYS)):
            return a
        return None

    def open_span_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        """Return the stretch of service time that contains an instant, if any."""
        for a, b in self.open_spans(at, at + ONE_DAY * 2):
            if a <= at < b:
                return a, b
            break
        return None

    # Notices ------------------------------------------------------------------------------------

    def notices_at(self, at: datetime) -> list[NoticeRow]:
        """Return the stored notices published at an instant, most severe first."""
        order = {"critical": 0, "warning": 1, "info": 2}
        active = [n for n in self.notices if n.publish_from <= at < n.publish_until]
        return sorted(active, key=lambda n: (order.get(n.severity, 3), n.publish_from))


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _merge_instants(windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(windows):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
