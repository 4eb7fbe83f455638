"""How often a process asks the cache whether the calendar changed (CALENDAR_REVALIDATE_SECONDS).

Asking on every request cost a Redis round trip per page, the largest part of a small page's
fixed cost; a process now serves the calendar it checked for that many seconds. Its own saves
show at once; another process's save shows within the interval; an outage is noticed when the
interval runs out, and then handled as before (tests/schedule/test_calendar_fallback.py).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from schedule import snapshot
from schedule.models import Notice
from schedule.selectors import notice_list_active
from schedule.services import notice_save
from schedule.snapshot import calendar_current

pytestmark = pytest.mark.django_db

CALENDAR_QUERIES = 4  # hours, closures, maintenance, notices


class CountingCache:
    """The cache the snapshot uses, counting the reads that reach it."""

    def __init__(self, cache):
        self.cache = cache
        self.reads = 0

    def get(self, *args, **kwargs):
        self.reads += 1
        return self.cache.get(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.cache, name)


@pytest.fixture
def clock(monkeypatch, settings):
    """One second between checks, on a clock the test moves, and no calendar kept yet."""
    settings.CALENDAR_REVALIDATE_SECONDS = 1
    monkeypatch.setattr(snapshot, "_memo", {})
    monkeypatch.setattr(snapshot, "_outage", snapshot._Outage())
    monkeypatch.setattr(snapshot, "_checked", None)
    now = {"t": 1000.0}
    monkeypatch.setattr(snapshot, "_monotonic", lambda: now["t"])

    def advance(seconds: float) -> None:
        now["t"] += seconds

    return advance


@pytest.fixture
def counting(monkeypatch):
    counter = CountingCache(snapshot.cache)
    monkeypatch.setattr(snapshot, "cache", counter)
    return counter


def notice_data(text: str) -> dict:
    now = timezone.now()
    return {
        "text_it": text,
        "text_en": text,
        "publish_from": now - timedelta(hours=1),
        "publish_until": now + timedelta(days=1),
    }


def texts() -> set[str]:
    return {n.text for n in notice_list_active(language="en") if n.source == "manual"}


def saved_by_another_process(text: str) -> None:
    """What another process's save leaves behind: the rows, and a new token in the cache."""
    notice = Notice.objects.create(**notice_data(text))
    snapshot.cache.set(snapshot.VERSION_KEY, f"elsewhere-{notice.pk}", None)


def test_within_the_interval_the_cache_is_not_asked_again(clock, counting):
    first = calendar_current()
    reads = counting.reads
    assert reads >= 1

    for _ in range(50):
        assert calendar_current() is first
    assert counting.reads == reads

    clock(1.01)
    calendar_current()
    assert counting.reads == reads + 1


def test_another_process_s_save_shows_once_the_interval_has_run_out(clock):
    assert texts() == set()
    saved_by_another_process("Saved elsewhere.")

    clock(0.5)
    assert texts() == set()
    clock(0.6)
    assert texts() == {"Saved elsewhere."}


def test_a_save_in_this_process_shows_at_once(clock, django_capture_on_commit_callbacks):
    assert texts() == set()

    with django_capture_on_commit_callbacks(execute=True):
        notice_save(notice=Notice(**notice_data("Saved here.")))

    assert texts() == {"Saved here."}


def test_a_changed_setting_is_not_served_from_the_checked_calendar(clock, settings):
    london = "Europe/London"
    assert str(calendar_current().zone) != london

    settings.SERVICE_TIME_ZONE = london

    assert str(calendar_current().zone) == london


def test_an_outage_is_noticed_when_the_interval_runs_out(
    clock, redis_cache, django_assert_num_queries
):
    checked = calendar_current()
    redis_cache.stop()

    with django_assert_num_queries(0):
        assert calendar_current() is checked  # still within the interval: nothing asked
    assert not snapshot.cache_is_degraded()

    clock(1.01)
    with django_assert_num_queries(0):
        # Redis does not answer: the last calendar is served, and the outage is known.
        assert calendar_current() is checked
    assert snapshot.cache_is_degraded()

    Notice.objects.create(**notice_data("During the outage."))  # by a process that then died
    clock(31)
    with django_assert_num_queries(CALENDAR_QUERIES):
        assert calendar_current() is not checked
    assert texts() == {"During the outage."}


def test_a_save_made_while_this_process_read_the_calendar_is_not_hidden_behind_that_read(
    clock, monkeypatch, django_capture_on_commit_callbacks
):
    read = snapshot._calendar_for

    def read_while_another_thread_saves(version):
        found = read(version)
        # Another thread of this process saves between the token read and the check.
        with django_capture_on_commit_callbacks(execute=True):
            notice_save(notice=Notice(**notice_data("Saved meanwhile.")))
        return found

    monkeypatch.setattr(snapshot, "_calendar_for", read_while_another_thread_saves)
    calendar_current()  # the calendar read before the save: served once, not kept
    monkeypatch.setattr(snapshot, "_calendar_for", read)

    assert texts() == {"Saved meanwhile."}
