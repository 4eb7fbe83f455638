"""Measure service time over years: the walk over every day against the per-day running totals.

Needs no database: the calendar's snapshot (the initial hours, Monday to Friday 08:30-12:30 and
14:00-18:00, the national holidays of HOLIDAYS_COUNTRY, a yearly summer closure, a one-off
closure and some maintenance windows) goes into the test settings' in-memory cache, where
`calendar_current()` reads it as it would from Redis. Prints, for one span of five years, the
first call on a fresh Calendar (cold) and later calls (warm), before (the walk kept as
`Calendar._service_time_walk`) and after (`Calendar.service_time`); then the queue's
`waiting_annotate` on 50 tickets spread over five years, against the newest-first accumulation
over the walk that it replaces. The national holiday tables are loaded once beforehand: they
are shared by the process, not by a calendar. Run:

    .venv/bin/python bench/bench_service_time.py
"""

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ["DATABASE_URL"] = "sqlite:///:memory:"  # never opened: the snapshot is in the cache

import django  # noqa: E402

django.setup()

from datetime import UTC, date, datetime, timedelta  # noqa: E402

from django.core.cache import cache  # noqa: E402

from schedule.calendar import ClosureRule, MaintenanceWindow  # noqa: E402
from schedule.snapshot import (  # noqa: E402
    DATA_KEY,
    DATA_TIMEOUT,
    VERSION_KEY,
    calendar_current,
    calendar_pinned,
)
from tickets.desk.queue import waiting_annotate  # noqa: E402
from tickets.models import Ticket  # noqa: E402

NOW = datetime(2026, 3, 16, 10, 17, 31, tzinfo=UTC)  # a Monday, inside service hours
FIVE_YEARS = timedelta(days=5 * 365)
COLD_RUNS = 7  # fresh calendars, median taken
WARM_ROUNDS = 7  # batches of warm calls, median taken
WARM_CALLS = {"walk": 5, "totals": 2_000}
TICKETS = 50


def rows() -> dict:
    """The snapshot as schedule.snapshot._rows_load() would read it from the tables."""
    hours = [(8 * 60 + 30, 12 * 60 + 30), (14 * 60, 18 * 60)]
    maintenance = [
        MaintenanceWindow(
            pk=index,
            starts_at=NOW - timedelta(days=37 * index, hours=index % 9),
            ends_at=NOW - timedelta(days=37 * index, hours=index % 9) + timedelta(hours=3),
            is_urgent=False,
            texts={"it": "Manutenzione."},
        )
        for index in range(1, 50)
    ]
    return {
        "weekly": dict.fromkeys(range(5), hours),
        "closures": [
            ClosureRule(1, date(2019, 8, 12), date(2019, 8, 23), True, {"it": "Ferie"}),
            ClosureRule(2, date(2023, 11, 2), date(2023, 11, 3), False, {"it": "Ponte"}),
        ],
        "maintenance": maintenance,
        "notices": [],
    }


def fresh_calendar():
    """Publish the snapshot under a new token: the next calendar_current() builds a new one."""
    version = uuid.uuid4().hex
    cache.set(DATA_KEY.format(version=version), rows(), DATA_TIMEOUT)
    cache.set(VERSION_KEY, version, None)
    return calendar_current()


def cold(method: str, start, end) -> float:
    """Median seconds of the first call on a fresh calendar."""
    found = []
    for _ in range(COLD_RUNS):
        calendar = fresh_calendar()
        began = time.perf_counter()
        getattr(calendar, method)(start, end)
        found.append(time.perf_counter() - began)
    return statistics.median(found)


def warm(method: str, start, end, calls: int) -> float:
    """Median seconds per call once the calendar has answered the same span."""
    function = getattr(fresh_calendar(), method)
    function(start, end)
    found = []
    for _ in range(WARM_ROUNDS):
        began = time.perf_counter()
        for _ in range(calls):
            function(start, end)
        found.append((time.perf_counter() - began) / calls)
    return statistics.median(found)


def waiting_annotate_before(tickets, *, at, calendar) -> None:
    """The queue's annotation as it was: newest first, walking each gap between tickets."""
    waited, until = timedelta(0), at
    for ticket in sorted(
        (t for t in tickets if t.is_open), key=lambda t: t.received_at, reverse=True
    ):
        if ticket.received_at < until:
            waited += calendar._service_time_walk(ticket.received_at, until)
            until = ticket.received_at
        ticket.service_waiting = waited


def page() -> list[Ticket]:
    """Fifty open tickets received over five years, oldest first, as the queue lists them."""
    step = FIVE_YEARS / (TICKETS - 1)
    return [
        Ticket(received_at=NOW - FIVE_YEARS + step * index + timedelta(minutes=index * 7))
        for index in range(TICKETS)
    ]


def annotate_times(annotate) -> tuple[float, float, list[timedelta]]:
    """Median seconds of one annotation on a fresh calendar and on the same one again, each in a
    request as the admin does it (one pinned calendar), and the waits found."""
    first, again = [], []
    for _ in range(COLD_RUNS):
        fresh_calendar()
        tickets = page()
        with calendar_pinned() as calendar:
            began = time.perf_counter()
            annotate(tickets, at=NOW, calendar=calendar)
            first.append(time.perf_counter() - began)
            began = time.perf_counter()
            annotate(tickets, at=NOW, calendar=calendar)
            again.append(time.perf_counter() - began)
    return statistics.median(first), statistics.median(again), [t.service_waiting for t in tickets]


def main():
    start, end = NOW - FIVE_YEARS, NOW
    began = time.perf_counter()
    fresh_calendar()._service_time_walk(start - timedelta(days=366), end + timedelta(days=366))
    loading = time.perf_counter() - began
    print(f"loading the national holidays of 7 years (once a process): {loading:.3f} s")

    walked = fresh_calendar()._service_time_walk(start, end)
    totals = fresh_calendar().service_time(start, end)
    print(f"service time over 5 years: {totals} (the walk: {walked}; equal: {walked == totals})")
    print()
    print("one service_time over 5 years      cold (fresh Calendar)     warm")
    rows_out = [
        ("before: walk over every day", "_service_time_walk", WARM_CALLS["walk"]),
        ("after: running totals per day", "service_time", WARM_CALLS["totals"]),
    ]
    for label, method, calls in rows_out:
        first = cold(method, start, end)
        again = warm(method, start, end, calls)
        print(f"  {label:32} {first * 1e3:10.3f} ms          {again * 1e6:10.1f} µs")

    print()
    print(f"waiting_annotate on {TICKETS} tickets over 5 years   first on a fresh Calendar   again")
    before = annotate_times(waiting_annotate_before)
    after = annotate_times(lambda tickets, *, at, calendar: waiting_annotate(tickets, at=at))
    for label, (first, again, _found) in (
        ("before: newest first over the walk", before),
        ("after: each row from the totals", after),
    ):
        print(f"  {label:36} {first * 1e3:10.3f} ms           {again * 1e3:8.3f} ms")
    print(f"  same waits: {before[2] == after[2]}")


if __name__ == "__main__":
    main()
