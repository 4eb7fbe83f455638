"""Service time from the per-day running totals equals the walk over every day, to the
microsecond: random spans across years, weekly hours, closures, holidays, maintenance and the
summer-time Sundays of Europe/Rome."""

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedule import calendar as calendar_module
from schedule.calendar import Calendar, ClosureRule, MaintenanceWindow
from tests.schedule.conftest import ROME
from tests.schedule.test_calendar import DEFAULT_WEEK, NIGHT_WEEK, weekly_hours

ZONE = "Europe/Rome"
FIRST_DAY, LAST_DAY = date(2018, 1, 1), date(2031, 12, 31)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=ROME).astimezone(UTC)


# The Sundays whose local day is 23 or 25 hours long.
CLOCK_CHANGE_DAYS = [
    day
    for year in range(FIRST_DAY.year, LAST_DAY.year + 1)
    for month in (3, 10)
    for day in (date(year, month, 31) - timedelta(days=back) for back in range(7))
    if local_midnight(day + timedelta(days=1)) - local_midnight(day) != timedelta(days=1)
]

DAYS = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)


@st.composite
def instants(draw) -> datetime:
    """An instant anywhere in the years, on a clock-change day, or on a local midnight."""
    kind = draw(st.sampled_from(["anywhere", "clock change", "midnight", "minute"]))
    if kind == "clock change":
        day = draw(st.sampled_from(CLOCK_CHANGE_DAYS))
        return local_midnight(day) + timedelta(minutes=draw(st.integers(0, 25 * 60)))
    day = draw(DAYS)
    if kind == "midnight":
        return local_midnight(day)
    minute = timedelta(minutes=draw(st.integers(0, 24 * 60 - 1)))
    if kind == "minute":
        return local_midnight(day) + minute
    return local_midnight(day) + minute + timedelta(microseconds=draw(st.integers(0, 59_999_999)))


@st.composite
def closures(draw) -> list[ClosureRule]:
    """One-off and yearly closures, some of several days, some over a year end or 29 February."""
    rules = []
    for pk in range(draw(st.integers(0, 4))):
        first = draw(st.one_of(DAYS, st.sampled_from([date(2020, 2, 29), date(2019, 12, 30)])))
        last = first + timedelta(days=draw(st.integers(0, 20)))
        rules.append(ClosureRule(pk, first, last, draw(st.booleans()), {"it": f"C{pk}"}))
    return rules


@st.composite
def windows(draw) -> list[MaintenanceWindow]:
    """Maintenance windows, overlapping at times, from a minute to ten days, to the microsecond."""
    found = []
    for pk in range(draw(st.integers(0, 5))):
        starts = draw(instants())
        length = draw(
            st.one_of(
                st.integers(1, 600).map(lambda m: timedelta(minutes=m)),
                st.integers(1, 10 * 24 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)),
            )
        )
        found.append(MaintenanceWindow(pk, starts, starts + length, False, {}))
    return found


def calendar_of(weekly, rules, maintenance) -> Calendar:
    return Calendar(
        zone=ZONE,
        weekly=weekly,
        closures=rules,
        maintenance=maintenance,
        country=django_settings.HOLIDAYS_COUNTRY,
        subdivision=django_settings.HOLIDAYS_SUBDIVISION,
    )


SPANS = st.lists(st.tuples(instants(), instants()), min_size=1, max_size=4)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weekly=weekly_hours(), rules=closures(), maintenance=windows(), spans=SPANS)
def test_service_time_equals_the_walk_over_every_day(weekly, rules, maintenance, spans):
    # One calendar for several spans, in the order drawn: the totals grow both ways lazily.
    calendar = calendar_of(weekly, rules, maintenance)
    for start, end in spans:
        assert calendar.service_time(start, end) == calendar._service_time_walk(start, end)
        assert calendar.service_time(end, start) == calendar._service_time_walk(end, start)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weekly=st.sampled_from([DEFAULT_WEEK, NIGHT_WEEK]),
    rules=closures(),
    maintenance=windows(),
    change=st.sampled_from(CLOCK_CHANGE_DAYS),
    before=st.integers(0, 3 * 24 * 60),
    after=st.integers(0, 3 * 24 * 60),
)
def test_whole_clock_change_days_count_as_the_walk_does(
    weekly, rules, maintenance, change, before, after
):
    calendar = calendar_of(weekly, rules, maintenance)
    start = local_midnight(change) - timedelta(minutes=before)
    end = local_midnight(change + timedelta(days=1)) + timedelta(minutes=after)
    assert calendar.service_time(start, end) == calendar._service_time_walk(start, end)


def test_five_years_of_the_default_week_match_and_stop_growing():
    calendar = calendar_of(
        DEFAULT_WEEK,
        [ClosureRule(1, date(2020, 8, 10), date(2020, 8, 21), True, {})],
        [],
    )
    end = datetime(2026, 3, 16, 9, 0, tzinfo=ROME)
    start = end - timedelta(days=5 * 365)
    walked = calendar._service_time_walk(start, end)
    assert calendar.service_time(start, end) == walked
    kept = len(calendar._prefix_ahead) + len(calendar._prefix_behind)
    assert kept <= 5 * 366 + 3
    assert calendar.service_time(start, end) == walked
    assert len(calendar._prefix_ahead) + len(calendar._prefix_behind) == kept


def test_spans_beyond_the_days_kept_are_walked(monkeypatch):
    monkeypatch.setattr(calendar_module, "_PREFIX_DAYS", 30)
    calendar = calendar_of(NIGHT_WEEK, [], [])
    end = datetime(2026, 3, 16, 9, 0, tzinfo=ROME)
    for days in (10, 29, 31, 32, 400):
        start = end - timedelta(days=days, minutes=7)
        assert calendar.service_time(start, end) == calendar._service_time_walk(start, end)
    assert len(calendar._prefix_behind) <= 31
    assert len(calendar._prefix_ahead) <= 31


def test_threads_asking_a_fresh_calendar_at_once_get_the_walk():
    reference = calendar_of(DEFAULT_WEEK, [], [])
    shared = calendar_of(DEFAULT_WEEK, [], [])
    end = datetime(2026, 3, 16, 9, 0, tzinfo=ROME)
    spans = [(end - timedelta(days=40 * i + 3, hours=i), end) for i in range(1, 40)]
    spans += [(end, end + timedelta(days=30 * i, minutes=i)) for i in range(1, 20)]
    expected = [reference._service_time_walk(a, b) for a, b in spans]
    results: dict[int, list[timedelta]] = {}
    barrier = threading.Barrier(4)

    def work(index: int) -> None:
        barrier.wait()
        order = spans if index % 2 else spans[::-1]
        found = {span: shared.service_time(*span) for span in order}
        results[index] = [found[span] for span in spans]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[i] == expected for i in range(4))


@pytest.mark.parametrize("week", [DEFAULT_WEEK, NIGHT_WEEK], ids=["default", "night"])
def test_a_span_within_two_days_is_walked_as_before(week):
    calendar = calendar_of(week, [], [])
    start = datetime(2025, 10, 25, 23, 0, tzinfo=ROME)
    end = start + timedelta(hours=20)
    assert calendar.service_time(start, end) == calendar._service_time_walk(start, end)
    assert calendar._prefix_anchor is None
