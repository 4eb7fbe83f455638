"""Service-time arithmetic: tables at the instants that matter, then hypothesis against a
brute-force minute-by-minute count."""

import contextlib
from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedule.calendar import Calendar, ClosureRule, MaintenanceWindow
from schedule.selectors import service_next_opening, service_time_add, service_time_between
from tests.schedule.conftest import ROME, rome
from tests.schedule.factories import ClosureFactory, MaintenanceFactory

H = timedelta(hours=1)
M = timedelta(minutes=1)

# start, end, service time between them (default hours: Mon-Fri 08:30-12:30, 14:00-18:00).
SERVICE_TIME_TABLE = [
    ("a whole weekday", rome(2025, 11, 26, 8, 0), rome(2025, 11, 26, 19, 0), 8 * H),
    ("across the lunch break", rome(2025, 11, 26, 12, 0), rome(2025, 11, 26, 14, 30), 1 * H),
    ("12:29 to 14:01", rome(2025, 11, 26, 12, 29), rome(2025, 11, 26, 14, 1), 2 * M),
    ("spring-forward weekend", rome(2025, 3, 28, 17, 0), rome(2025, 3, 31, 9, 0), 90 * M),
    ("fall-back weekend", rome(2025, 10, 24, 17, 0), rome(2025, 10, 27, 9, 0), 90 * M),
    ("Christmas", rome(2025, 12, 23, 17, 0), rome(2025, 12, 29, 9, 0), 9 * H + 30 * M),
    ("year end", rome(2025, 12, 31, 17, 0), rome(2026, 1, 2, 9, 0), 90 * M),
    ("Easter Monday", rome(2025, 4, 18, 17, 0), rome(2025, 4, 22, 9, 0), 90 * M),
    ("Ferragosto", rome(2025, 8, 14, 17, 0), rome(2025, 8, 18, 9, 0), 90 * M),
    ("a week", rome(2025, 11, 24, 0, 0), rome(2025, 12, 1, 0, 0), 40 * H),
    ("end before start", rome(2025, 11, 26, 12, 0), rome(2025, 11, 26, 9, 0), timedelta(0)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [row[1:] for row in SERVICE_TIME_TABLE],
    ids=[row[0] for row in SERVICE_TIME_TABLE],
)
def test_service_time_between_default_calendar(start, end, expected):
    assert service_time_between(start=start, end=end) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Thu 6 17:00 -> Tue 11 09:00: one hour on Thursday, half an hour on Tuesday.
        pytest.param(
            rome(2025, 11, 6, 17, 0),
            rome(2025, 11, 11, 9, 0),
            90 * M,
            id="closure Friday to Monday",
        ),
        # Wednesday 12: eight hours less the 10:00-11:00 maintenance.
        pytest.param(
            rome(2025, 11, 12, 0, 0), rome(2025, 11, 13, 0, 0), 7 * H, id="maintenance window"
        ),
    ],
)
def test_service_time_skips_closures_spanning_a_weekend_and_maintenance(start, end, expected):
    ClosureFactory(first_day=date(2025, 11, 7), last_day=date(2025, 11, 10))
    MaintenanceFactory(starts_at=rome(2025, 11, 12, 10, 0), ends_at=rome(2025, 11, 12, 11, 0))
    assert service_time_between(start=start, end=end) == expected


@pytest.mark.django_db
def test_recurring_closure_repeats_in_later_years_and_across_the_year_end():
    ClosureFactory(first_day=date(2020, 12, 31), last_day=date(2021, 1, 2), recurs_yearly=True)
    # 2025-12-31 (Wed) and 2026-01-02 (Fri) are closed; 1 January is a holiday anyway.
    assert service_time_between(start=rome(2025, 12, 30, 17, 0), end=rome(2026, 1, 5, 9, 0)) == (
        90 * M
    )
    assert service_next_opening(at=rome(2025, 12, 30, 18, 0)) == rome(2026, 1, 5, 8, 30)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("at", "opening", "utc_hour"),
    [
        # 08:30 in summer time (UTC+2) is 06:30 UTC; in winter time (UTC+1), 07:30 UTC.
        pytest.param(rome(2025, 3, 30, 10, 0), rome(2025, 3, 31, 8, 30), 6, id="spring forward"),
        pytest.param(rome(2025, 10, 26, 10, 0), rome(2025, 10, 27, 8, 30), 7, id="fall back"),
    ],
)
def test_next_opening_after_the_summer_time_sundays_is_in_local_time(at, opening, utc_hour):
    found = service_next_opening(at=at)
    assert found == opening
    assert (found.hour, found.minute) == (8, 30)  # in the service zone, not UTC
    assert found.astimezone(UTC).hour == utc_hour


# Hypothesis ---------------------------------------------------------------------------------------

QUARTERS = st.integers(min_value=0, max_value=96)


DEFAULT_WEEK = {d: [(8 * 60 + 30, 12 * 60 + 30), (14 * 60, 18 * 60)] for d in range(5)} | {
    5: [],
    6: [],
}


@st.composite
def random_weekly_hours(draw):
    weekly = {}
    for weekday in range(7):
        intervals = []
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            a, b = sorted(draw(st.lists(QUARTERS, min_size=2, max_size=2, unique=True)))
            intervals.append((a * 15, b * 15))
        weekly[weekday] = intervals
    return weekly


# Every day, with night hours that straddle the summer-time switches (02:00 and 03:00).
NIGHT_WEEK = {d: [(60, 4 * 60), (8 * 60 + 30, 18 * 60)] for d in range(7)}


def weekly_hours():
    """Often a fixed week, so that closures, windows and clock changes meet service hours."""
    return st.one_of(st.just(DEFAULT_WEEK), st.just(NIGHT_WEEK), random_weekly_hours())


INSTANT_BASES = st.sampled_from(
    [
        datetime(2025, 3, 28, tzinfo=UTC),  # spring forward on Sunday 30
        datetime(2025, 3, 29, 20, tzinfo=UTC),  # the night of the switch
        datetime(2025, 10, 24, tzinfo=UTC),  # fall back on Sunday 26
        datetime(2025, 10, 25, 20, tzinfo=UTC),
        datetime(2025, 12, 22, tzinfo=UTC),  # Christmas and the year end
        datetime(2025, 4, 17, tzinfo=UTC),  # Easter
        datetime(2026, 8, 10, tzinfo=UTC),  # Ferragosto
    ]
)


@st.composite
def instants(draw):
    base = draw(INSTANT_BASES)
    start = base + draw(st.integers(min_value=0, max_value=3 * 24 * 60)) * M
    end = start + draw(st.integers(min_value=0, max_value=5 * 24 * 60)) * M
    return start, end


def closures_near(start: datetime, draw) -> list[ClosureRule]:
    """Closures around the instants drawn (else they would hardly ever meet), some recurring
    from an earlier year, some spanning a weekend or the year end."""
    rules = []
    around = start.astimezone(ROME).date()
    for pk in range(draw(st.integers(min_value=1, max_value=2))):
        first = around + timedelta(days=draw(st.integers(-6, 5)))
        last = first + timedelta(days=draw(st.integers(0, 6)))
        recurs = draw(st.booleans())
        if recurs:
            back = draw(st.integers(0, 3))
            length = last - first
            with contextlib.suppress(ValueError):  # 29 February has no date in a common year
                first = first.replace(year=first.year - back)
                last = first + length
        rules.append(ClosureRule(pk, first, last, recurs, {"it": f"C{pk}"}))
    return rules


def windows_near(start: datetime, draw) -> list[MaintenanceWindow]:
    found = []
    for pk in range(draw(st.integers(min_value=0, max_value=2))):
        a = start + draw(st.integers(-600, 4000)) * M
        found.append(MaintenanceWindow(pk, a, a + draw(st.integers(1, 600)) * M, False, {}))
    return found


def brute_open(calendar_input, minute: datetime) -> bool:
    """Whether one minute is service time, decided the slow and obvious way."""
    weekly, rules, windows, it_holidays = calendar_input
    local = minute.astimezone(ROME)
    day = local.date()
    if day in it_holidays:
        return False
    for rule in rules:
        if rule.recurs_yearly:
            for year in (day.year - 1, day.year):
                try:
                    first = rule.first_day.replace(year=year)
                except ValueError:  # 29 February in a common year
                    continue
                if first <= day <= first + (rule.last_day - rule.first_day) and year >= (
                    rule.first_day.year
                ):
                    return False
        elif rule.first_day <= day <= rule.last_day:
            return False
    if any(w.starts_at <= minute < w.ends_at for w in windows):
        return False
    wall = local.hour * 60 + local.minute
    return any(a <= wall < b for a, b in weekly[day.weekday()])


IT_HOLIDAYS = holidays.country_holidays("IT", years=range(2024, 2028))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weekly=weekly_hours(), span=instants(), data=st.data())
def test_service_time_matches_a_minute_by_minute_count(weekly, span, data):
    start, end = span
    rules = closures_near(start, data.draw)
    windows = windows_near(start, data.draw)
    calendar = Calendar(
        zone="Europe/Rome", weekly=weekly, closures=rules, maintenance=windows, country="IT"
    )
    oracle = (weekly, rules, windows, IT_HOLIDAYS)
    minutes = int((end - start) / M)
    expected = sum(brute_open(oracle, start + i * M) for i in range(minutes))
    assert calendar.service_time(start, end) == expected * M


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weekly=weekly_hours(), span=instants(), data=st.data())
def test_next_opening_is_the_first_open_minute(weekly, span, data):
    start, _end = span
    rules = closures_near(start, data.draw)
    windows = windows_near(start, data.draw)
    calendar = Calendar(
        zone="Europe/Rome", weekly=weekly, closures=rules, maintenance=windows, country="IT"
    )
    oracle = (weekly, rules, windows, IT_HOLIDAYS)
    expected = next(
        (start + i * M for i in range(12 * 24 * 60) if brute_open(oracle, start + i * M)), None
    )
    found = calendar.next_opening(start)
    if expected is None:
        assert found is None or found >= start + 12 * 24 * 60 * M
    else:
        assert found == expected


def test_a_calendar_without_hours_never_opens():
    calendar = Calendar(zone="Europe/Rome", weekly={})
    start = datetime.combine(date(2025, 1, 1), time(), tzinfo=UTC)
    assert calendar.next_opening(start) is None
    assert calendar.service_time(start, start + 100 * H) == timedelta(0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sunday", "expected"),
    [(date(2025, 3, 30), 2 * H), (date(2025, 10, 26), 4 * H), (date(2025, 11, 16), 3 * H)],
    ids=["spring forward: 01:00-04:00 lasts two hours", "fall back: four hours", "ordinary"],
)
def test_sunday_hours_across_the_clock_change_last_what_the_wall_clock_says(sunday, expected):
    from tests.schedule.factories import ServiceHoursFactory

    ServiceHoursFactory(weekday=6, opens_at=time(1, 0), closes_at=time(4, 0))
    day_start = datetime.combine(sunday, time(), tzinfo=ROME)
    assert service_time_between(start=day_start, end=day_start + 30 * H) == expected


# Adding service time (the service targets' due instants) ----------------------------------------

# start, service time to add, the instant it is due (default hours).
SERVICE_TIME_ADD_TABLE = [
    ("within a morning", rome(2025, 11, 26, 9, 0), 2 * H, rome(2025, 11, 26, 11, 0)),
    ("across lunch", rome(2025, 11, 26, 12, 0), 1 * H, rome(2025, 11, 26, 14, 30)),
    ("exactly to the closing time", rome(2025, 11, 26, 17, 0), 1 * H, rome(2025, 11, 26, 18, 0)),
    ("from the night", rome(2025, 11, 26, 22, 0), 30 * M, rome(2025, 11, 27, 9, 0)),
    ("Friday evening to Monday", rome(2025, 11, 28, 17, 0), 2 * H, rome(2025, 12, 1, 9, 30)),
    ("over Christmas", rome(2025, 12, 24, 17, 0), 2 * H, rome(2025, 12, 29, 9, 30)),
    ("over the spring-forward weekend", rome(2025, 3, 28, 17, 30), H, rome(2025, 3, 31, 9, 0)),
    ("zero", rome(2025, 11, 26, 22, 0), timedelta(0), rome(2025, 11, 26, 22, 0)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [row[1:] for row in SERVICE_TIME_ADD_TABLE],
    ids=[row[0] for row in SERVICE_TIME_ADD_TABLE],
)
def test_service_time_add_default_calendar(start, duration, expected):
    assert service_time_add(start=start, duration=duration) == expected


@pytest.mark.django_db
def test_service_time_add_skips_a_closure_and_a_maintenance_window():
    ClosureFactory(first_day=date(2025, 11, 7), last_day=date(2025, 11, 10))
    MaintenanceFactory(starts_at=rome(2025, 11, 11, 9, 0), ends_at=rome(2025, 11, 11, 10, 0))
    # Thu 6 at 17:00: one hour that day, then Fri-Mon closed, then Tue 08:30-09:00 and 10:00-...
    due = service_time_add(start=rome(2025, 11, 6, 17, 0), duration=2 * H)
    assert due == rome(2025, 11, 11, 10, 30)


def test_service_time_add_without_hours_is_never():
    calendar = Calendar(zone="Europe/Rome", weekly={})
    assert calendar.service_time_add(rome(2025, 11, 26, 9, 0), H) is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weekly=weekly_hours(), span=instants(), data=st.data())
def test_service_time_add_is_the_earliest_instant_service_time_reaches(weekly, span, data):
    start, _end = span
    duration = data.draw(st.integers(min_value=1, max_value=30 * 60)) * M
    calendar = Calendar(
        zone="Europe/Rome",
        weekly=weekly,
        closures=closures_near(start, data.draw),
        maintenance=windows_near(start, data.draw),
        country="IT",
    )
    due = calendar.service_time_add(start, duration)
    if due is None:
        assert calendar.service_time(start, start + timedelta(days=400)) < duration
        return
    assert calendar.service_time(start, due) == duration
    assert calendar.service_time(start, due - M) < duration
