"""The service calendar while Redis is away, and once it is back (schedule.snapshot).

The production cache (core.cache.ResilientRedisCache) runs against a redis-server of the test's
own, which the test stops, or freezes (SIGSTOP: it hangs with its data kept, as a Redis behind a
broken network does) and thaws. Pages must keep answering from the process's last calendar,
reload it from the database only now and then, show a save made during the outage, and never
keep serving a calendar that an outage made stale.
"""

import os
import signal
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from schedule import snapshot
from schedule.models import Notice
from schedule.selectors import notice_list_active
from schedule.services import notice_save
from schedule.snapshot import VERSION_KEY, calendar_current
from tests.notifications.live import wait_until

pytestmark = pytest.mark.django_db

CALENDAR_QUERIES = 4  # hours, closures, maintenance, notices


@pytest.fixture(autouse=True)
def clock(monkeypatch, settings):
    """This process's copies of the calendar start empty, on a clock the test moves."""
    settings.CALENDAR_FALLBACK_SECONDS = 30  # the steps the tests move the clock by
    monkeypatch.setattr(snapshot, "_memo", {})
    monkeypatch.setattr(snapshot, "_outage", snapshot._Outage())
    now = {"t": 1000.0}
    monkeypatch.setattr(snapshot, "_monotonic", lambda: now["t"])

    def advance(seconds: float) -> None:
        now["t"] += seconds

    return advance


def freeze(server) -> None:
    os.kill(server.process.pid, signal.SIGSTOP)


def thaw(server) -> None:
    os.kill(server.process.pid, signal.SIGCONT)


def back(server) -> None:
    """Wait until this process asks Redis again (its pause after the failure has run out)."""
    wait_until(lambda: not cache.is_degraded(), timeout=5, what="the cache's pause to end")


def texts() -> set[str]:
    return {n.text for n in notice_list_active(language="en") if n.source == "manual"}


def publish(text: str, *, through_service: bool, on_commit=None) -> None:
    now = timezone.now()
    data = {
        "text_it": text,
        "text_en": text,
        "publish_from": now - timedelta(hours=1),
        "publish_until": now + timedelta(days=1),
    }
    if through_service:
        with on_commit(execute=True):
            notice_save(notice=Notice(**data))
    else:
        # Another process saved it, its token change was dropped with the cache, and it died:
        # nothing in this process heard of it.
        Notice.objects.create(**data)


def test_pages_keep_answering_from_the_last_calendar_without_the_database(
    client, redis_cache, django_assert_num_queries
):
    client.get("/")  # this process builds its calendar from the cache
    redis_cache.stop()

    with django_assert_num_queries(0):
        for _ in range(5):
            calendar_current()
    assert client.get("/").status_code == 200
    assert client.get("/schedule/feeds/notices.json").status_code == 200


def test_a_process_without_a_calendar_reads_the_database_once_then_now_and_then(
    redis_cache, clock, django_assert_num_queries
):
    redis_cache.stop()

    with django_assert_num_queries(CALENDAR_QUERIES):
        for _ in range(5):
            calendar_current()
    clock(29)
    with django_assert_num_queries(0):
        calendar_current()
    clock(2)
    with django_assert_num_queries(CALENDAR_QUERIES):
        calendar_current()
        calendar_current()


def test_another_process_s_save_during_the_outage_shows_within_the_fallback_period(
    redis_cache, clock
):
    calendar_current()
    redis_cache.stop()
    assert texts() == set()

    publish("Saved elsewhere.", through_service=False)
    assert texts() == set()  # the copy this process had
    clock(31)

    assert texts() == {"Saved elsewhere."}


def test_a_save_in_this_process_during_the_outage_shows_at_once(
    redis_cache, django_capture_on_commit_callbacks
):
    calendar_current()
    redis_cache.stop()
    calendar_current()

    publish("Saved here.", through_service=True, on_commit=django_capture_on_commit_callbacks)

    assert texts() == {"Saved here."}


def test_a_save_whose_token_change_was_dropped_is_not_lost_when_redis_returns(
    redis_cache, django_capture_on_commit_callbacks
):
    calendar_current()
    token = cache.get(VERSION_KEY)
    freeze(redis_cache)
    try:
        publish("Saved here.", through_service=True, on_commit=django_capture_on_commit_callbacks)
        assert texts() == {"Saved here."}
    finally:
        thaw(redis_cache)
    back(redis_cache)

    assert texts() == {"Saved here."}
    # Every other process sees it too: the token they hold has changed.
    assert cache.get(VERSION_KEY) not in (None, token)


def test_a_save_by_a_process_that_died_during_the_outage_is_picked_up_when_redis_returns(
    redis_cache,
):
    calendar_current()
    token = cache.get(VERSION_KEY)
    freeze(redis_cache)
    try:
        assert texts() == set()  # served without the cache: this process saw the outage
        publish("Saved elsewhere.", through_service=False)
    finally:
        thaw(redis_cache)
    back(redis_cache)

    # Redis came back with the old token and snapshot; they no longer match the database.
    assert texts() == {"Saved elsewhere."}
    new_token = cache.get(VERSION_KEY)
    assert new_token not in (None, token)
    # Once compared, the cache serves again: no database query per call.
    calendar_current()
    assert cache.get(VERSION_KEY) == new_token


def test_an_outage_without_saves_keeps_the_token_and_costs_one_comparison(
    redis_cache, django_assert_num_queries
):
    calendar_current()
    token = cache.get(VERSION_KEY)
    freeze(redis_cache)
    try:
        calendar_current()
    finally:
        thaw(redis_cache)
    back(redis_cache)

    with django_assert_num_queries(CALENDAR_QUERIES):
        calendar_current()
    with django_assert_num_queries(0):
        calendar_current()
    assert cache.get(VERSION_KEY) == token
