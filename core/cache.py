"""A Redis cache that degrades to "no cache" while Redis is away, instead of failing requests.

Everything the portal keeps in the cache can be rebuilt from the database (the service calendar,
the public feeds), so a cache that cannot answer behaves as an empty one: reads miss, writes are
dropped. After a failure the process stops asking Redis for `RETRY_AFTER` seconds, so an outage
costs one connection attempt per process and interval, not one per call; `is_degraded()` and
`ping()` tell the health check.

A dropped write would leave the value it meant to replace in Redis, to be read again once the
server answers: a manager's calendar edit made during the outage would then be lost behind the
old version token. So the keys of dropped writes are remembered, and deleted before anything
else is asked of Redis when it answers again.
"""

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Connection refused, reset or timed out, a server still loading its data set, a read-only
# replica, out of memory, something that is not Redis at all: the cache cannot answer.
UNREACHABLE = (RedisError, OSError)


@dataclass
class _Health:
    """What one process knows of one Redis server, shared by the cache objects of its threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    down_until: float = 0.0  # monotonic time before which Redis is not asked again
    down_since: float | None = None  # monotonic time of the first failure of this outage
    dropped: dict[str, None] = field(default_factory=dict)  # keys, oldest first


_health_lock = threading.Lock()
_health: dict[tuple[str, ...], _Health] = {}


def _health_of(servers: Iterable[str]) -> _Health:
    key = tuple(servers)
    with _health_lock:
        return _health.setdefault(key, _Health())


class _ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis client, keeping one `redis.Redis` a connection pool instead of building one
    for every call (its construction cost more than the round trip of a small GET).
    `redis.Redis` is thread-safe: each command borrows a connection from the pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, answering like an empty cache while the server is unreachable."""

    # Seconds to go without Redis after a failure before trying it again.
    RETRY_AFTER = 2.0
    # Dropped writes remembered at most; beyond, the oldest are forgotten (and logged).
    MAX_DROPPED = 10_000

    def __init__(self, server, params):
        params = {**params, "OPTIONS": dict(params.get("OPTIONS") or {})}
        options = params["OPTIONS"]
        # A Redis that hangs must cost a request a fraction of a second, not the OS's timeout.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        self.retry_after = float(options.pop("RETRY_AFTER", self.RETRY_AFTER))
        super().__init__(server, params)
        self._class = _ReusedClientRedisCacheClient
        self._health = _health_of(self._servers)

    # Health ----------------------------------------------------------------------------------

    def is_degraded(self) -> bool:
        """Tell whether the last call found Redis unreachable (and the pause has not run out)."""
        return time.monotonic() < self._health.down_until

    def ping(self) -> bool:
        """Tell whether Redis answers now; while it is known down, answer without asking it."""
        return self._call(False, lambda: bool(self._cache.get_client(write=True).ping()))

    def _mark_down(self, exc: Exception) -> None:
        health = self._health
        with health.lock:
            now = time.monotonic()
            health.down_until = now + self.retry_after
            first = health.down_since is None
            if first:
                health.down_since = now
        if first:
            logger.warning(
                "Cache unreachable (%s: %s); serving without it for now.", type(exc).__name__, exc
            )

    def _mark_up(self) -> None:
        health = self._health
        if health.down_since is None:
            return
        with health.lock:
            since, health.down_since = health.down_since, None
        if since is not None:
            logger.warning("Cache reachable again after %.1f s.", time.monotonic() - since)

    def _drop(self, keys: Iterable[str], version) -> None:
        """Remember the keys of a write that did not happen, to delete them once Redis is back."""
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        health = self._health
        forgotten = 0
        with health.lock:
            for key in made:
                health.dropped.pop(key, None)
                health.dropped[key] = None
            while len(health.dropped) > self.MAX_DROPPED:
                health.dropped.pop(next(iter(health.dropped)))
                forgotten += 1
        if forgotten:
            logger.error(
                "Cache: forgot %d dropped writes; their old values may be served after the outage.",
                forgotten,
            )

    def _flush_dropped(self) -> None:
        """Delete what dropped writes left behind; raise if Redis still cannot answer."""
        health = self._health
        if not health.dropped:
            return
        with health.lock:
            keys = list(health.dropped)
        self._cache.delete_many(keys)
        with health.lock:
            for key in keys:
                health.dropped.pop(key, None)
        logger.info("Cache: deleted %d entries whose update was dropped while away.", len(keys))

    def _call(self, default, operation, *, dropping: Iterable[str] = (), version=None):
        if self.is_degraded():
            if dropping:
                self._drop(dropping, version)
            return default
        try:
            self._flush_dropped()
            result = operation()
        except UNREACHABLE as exc:
            self._mark_down(exc)
            if dropping:
                self._drop(dropping, version)
            return default
        self._mark_up()
        return result

    # Reads ------------------------------------------------------------------------------------

    def get(self, key, default=None, version=None):
        parent = super()
        return self._call(default, lambda: parent.get(key, default, version))

    def get_many(self, keys, version=None):
        parent = super()
        return self._call({}, lambda: parent.get_many(keys, version))

    def has_key(self, key, version=None):
        parent = super()
        return self._call(False, lambda: parent.has_key(key, version))

    # Writes -----------------------------------------------------------------------------------

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        parent = super()
        self._call(
            None,
            lambda: parent.set(key, value, timeout, version),
            dropping=[key],
            version=version,
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        parent = super()
        # Django's contract: return the keys that failed to be stored.
        return self._call(
            list(data),
            lambda: parent.set_many(data, timeout, version),
            dropping=list(data),
            version=version,
        )

    def delete(self, key, version=None):
        parent = super()
        return self._call(
            False, lambda: parent.delete(key, version), dropping=[key], version=version
        )

    def delete_many(self, keys, version=None):
        parent = super()
        keys = list(keys)
        self._call(
            None,
            lambda: parent.delete_many(keys, version),
            dropping=keys,
            version=version,
        )

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # Nothing is replaced when an add fails: there is nothing stale to remember.
        parent = super()
        return self._call(False, lambda: parent.add(key, value, timeout, version))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        parent = super()
        return self._call(False, lambda: parent.touch(key, timeout, version))

    def incr(self, key, delta=1, version=None):
        parent = super()
        missing = object()
        found = self._call(missing, lambda: parent.incr(key, delta, version))
        if found is missing:
            # No sensible default: a counter that cannot count must say so (Django's contract
            # for a key it cannot increment is ValueError).
            raise ValueError(f"Cache unreachable: cannot increment {key!r}.")
        return found

    def clear(self):
        # Not remembered when dropped: Redis may hold the Celery queues too, and a flush
        # replayed later would empty them.
        parent = super()
        return self._call(False, parent.clear)


def cache_is_degraded(alias: str = "default") -> bool:
    """Tell whether a cache is known to be unreachable right now (never, for other backends)."""
    backend = caches[alias]
    is_degraded = getattr(backend, "is_degraded", None)
    return bool(is_degraded and is_degraded())


def cache_ping(alias: str = "default") -> bool | None:
    """Tell whether a cache's server answers; None for a backend without a server to ask."""
    ping = getattr(caches[alias], "ping", None)
    return ping() if ping is not None else None
