"""The production cache against a real redis-server that the tests stop, freeze and start again.

While Redis is unreachable the cache answers like an empty one (reads miss, writes are dropped)
and leaves Redis alone for RETRY_AFTER seconds; a write it dropped does not leave the old value
behind once Redis answers again.
"""

import logging
import os
import signal
import threading
import time

import pytest
import redis

from core.cache import ResilientRedisCache, cache_is_degraded, cache_ping
from tests.notifications.live import wait_until

RETRY_AFTER = 0.3


@pytest.fixture
def server(own_redis):
    return own_redis


def make_cache(server, **options) -> ResilientRedisCache:
    return ResilientRedisCache(
        server.url, {"OPTIONS": {"RETRY_AFTER": RETRY_AFTER, **options}, "KEY_PREFIX": "t"}
    )


def raw(server) -> redis.Redis:
    return redis.Redis.from_url(server.url)


def freeze(server) -> None:
    """Make Redis hang, its data kept: connections stay open and nothing answers."""
    os.kill(server.process.pid, signal.SIGSTOP)


def thaw(server) -> None:
    os.kill(server.process.pid, signal.SIGCONT)


def wait_for_retry(cache) -> None:
    wait_until(lambda: not cache.is_degraded(), timeout=5, what="the pause to run out")


def test_with_redis_up_it_is_a_redis_cache(server):
    cache = make_cache(server)

    cache.set("k", {"a": 1})
    cache.set_many({"m1": 1, "m2": 2})

    assert cache.get("k") == {"a": 1}
    assert cache.get_many(["m1", "m2", "none"]) == {"m1": 1, "m2": 2}
    assert cache.add("k", "other") is False
    assert cache.incr("m1") == 2
    assert cache.has_key("m2")
    assert cache.delete("m2") is True
    assert cache.ping() is True
    assert cache.is_degraded() is False
    assert raw(server).exists(cache.make_key("k"))


def test_calls_share_one_client_and_its_connections_across_a_restart(server):
    """Building a `redis.Redis` for every call cost more than a small GET's round trip."""
    cache = make_cache(server)
    cache.set("k", "v")
    client = cache._cache.get_client()

    assert cache._cache.get_client() is client
    assert cache._cache.get_client(write=True) is client  # one server: one pool
    assert len(client.connection_pool._available_connections) == 1

    server.stop()
    assert cache.get("k") is None
    server.start()
    wait_for_retry(cache)

    cache.set("k", "again")
    assert cache.get("k") == "again"
    assert cache._cache.get_client() is client


def test_with_redis_stopped_reads_miss_and_writes_are_dropped_without_an_error(server, caplog):
    cache = make_cache(server)
    cache.set("k", "before")
    server.stop()

    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert cache.get("k") is None
        assert cache.get("k", "default") == "default"
        assert cache.get_many(["k"]) == {}
        assert cache.has_key("k") is False
        cache.set("k", "during")
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        assert cache.add("new", 1) is False
        assert cache.delete("k") is False
        cache.delete_many(["a", "b"])
        assert cache.touch("k") is False
        with pytest.raises(ValueError, match="Cache unreachable"):
            cache.incr("k")
        assert cache.ping() is False

    assert cache.is_degraded()
    # One warning for the outage, not one per call.
    assert sum("unreachable" in r.getMessage() for r in caplog.records) == 1


def test_while_paused_it_does_not_ask_redis_then_it_tries_again(server):
    cache = make_cache(server)
    server.stop()
    assert cache.get("k") is None  # fails: the pause starts
    server.start()
    raw(server).set(cache.make_key("k"), cache._cache._serializer.dumps("back"))

    # Redis is back, but this process does not know yet: no connection is attempted.
    assert cache.is_degraded()
    assert cache.get("k") is None
    assert cache.ping() is False

    wait_for_retry(cache)
    assert cache.get("k") == "back"
    assert cache.ping() is True
    assert cache.is_degraded() is False


def test_a_redis_that_hangs_costs_a_call_the_socket_timeout_not_forever(server):
    cache = make_cache(server, socket_timeout=0.2, socket_connect_timeout=0.2)
    cache.set("k", "v")
    freeze(server)
    try:
        started = time.monotonic()
        assert cache.get("k") is None
        assert time.monotonic() - started < 3
        assert cache.is_degraded()
    finally:
        thaw(server)


def test_a_write_dropped_while_redis_hung_does_not_leave_the_old_value_behind(server, caplog):
    cache = make_cache(server, socket_timeout=0.2, socket_connect_timeout=0.2)
    cache.set("token", "old")
    cache.set("gone", "old")
    cache.set("untouched", "old")
    freeze(server)
    try:
        # Times out: dropped. (A frozen Redis may still apply it when it wakes up, from its
        # socket buffer: deleting the key afterwards is right either way.)
        cache.set("token", "new")
        cache.delete("gone")  # during the pause: dropped without asking
        assert cache.is_degraded()
    finally:
        thaw(server)
    # Redis kept its data: the old values are still there...
    assert raw(server).exists(cache.make_key("token"), cache.make_key("gone")) == 2

    wait_for_retry(cache)
    with caplog.at_level(logging.INFO, logger="core.cache"):
        # ...but the first call once it answers deletes them before anything is read.
        assert cache.get("token") is None

    assert cache.get("gone") is None
    assert cache.get("untouched") == "old"
    assert "reachable again" in caplog.text
    cache.set("token", "newer")
    assert cache.get("token") == "newer"


def test_the_dropped_writes_remembered_are_bounded(server, monkeypatch, caplog):
    monkeypatch.setattr(ResilientRedisCache, "MAX_DROPPED", 3)
    cache = make_cache(server, socket_timeout=0.2, socket_connect_timeout=0.2)
    for key in ("a", "b", "c", "d", "e"):
        cache.set(key, "old")
    freeze(server)
    try:
        assert cache.get("a") is None  # times out: the pause starts
        with caplog.at_level(logging.ERROR, logger="core.cache"):
            for key in ("a", "b", "c", "d", "e"):
                cache.set(key, "new")  # dropped without asking Redis
    finally:
        thaw(server)
    wait_for_retry(cache)

    found = {key: cache.get(key) for key in ("a", "b", "c", "d", "e")}

    # The newest three are deleted; the two forgotten ones still hold their old value, and
    # the log says so.
    assert found == {"a": "old", "b": "old", "c": None, "d": None, "e": None}
    assert "forgot" in caplog.text


def test_every_thread_of_a_process_shares_what_it_knows_of_redis(server):
    server.stop()
    first = make_cache(server)
    assert first.get("k") is None  # this thread's cache object finds Redis down
    seen = {}

    def other_thread():
        # Django gives each thread its own cache object: it must not try Redis again.
        seen["degraded"] = make_cache(server).is_degraded()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(5)

    assert seen == {"degraded": True}


@pytest.mark.django_db
def test_the_helpers_answer_for_any_backend(settings, server):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "redis": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"RETRY_AFTER": RETRY_AFTER},
        },
    }

    assert cache_is_degraded() is False
    assert cache_ping() is None  # nothing to ask: not a server
    assert cache_ping("redis") is True
    server.stop()
    assert cache_ping("redis") is False
    assert cache_is_degraded("redis") is True
