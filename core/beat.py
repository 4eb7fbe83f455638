"""Celery beat that schedules exactly once however many beats run: RedBeat, kept through outages.

RedBeat (celery-redbeat) keeps the schedule and each entry's last run in Redis, and lets only the
beat holding a lock in Redis send anything; a second beat waits, and takes over within
`BEAT_LOCK_TIMEOUT` seconds of the first one's death, from the last runs the first one recorded.

As shipped, RedBeat takes the lock once at start-up and treats any later Redis error as fatal: a
beat whose Redis went away (or came back empty, its lock and schedule gone) exits. The portal's
beat runs the sweeps that catch up with what an outage left behind, so this scheduler instead
sends nothing while Redis does not answer, and whenever it (re)gains the lock it installs the
schedule again (idempotent: recorded last runs are kept), so a Redis that restarted empty gets
its schedule back from the beat that holds the lock.
"""

import logging

from celery.signals import beat_init
from redbeat.schedulers import (
    LUA_EXTEND_TO_SCRIPT,
    RedBeatScheduler,
    acquire_distributed_beat_lock,
    get_redis,
)
from redis.exceptions import LockError, RedisError

logger = logging.getLogger("celery.beat")

# Connection refused, reset or timed out, a server loading its data: Redis cannot answer.
UNREACHABLE = (RedisError, OSError)

# The lock is taken by each tick here, never by RedBeat's blocking start-up handler (a beat
# blocked in it could not notice an outage, nor give up the lock it never had).
beat_init.disconnect(acquire_distributed_beat_lock)


class ExactlyOnceScheduler(RedBeatScheduler):
    """RedBeat's scheduler, which waits out Redis outages and takes its lock back afterwards."""

    def setup_schedule(self):
        try:
            super().setup_schedule()
        except UNREACHABLE as exc:
            # Installed again when the lock is taken, once Redis answers.
            logger.warning("beat: Redis unreachable, schedule not installed yet (%s)", exc)

    def tick(self, *args, **kwargs):
        try:
            if not self._holds_lock():
                return self.max_interval
            return super().tick(*args, **kwargs)
        except LockError as exc:
            # The lock expired or Redis came back empty: another beat may be sending by now.
            logger.warning("beat: Lost the lock (%s); standing by", exc)
            self.lock = None
        except UNREACHABLE as exc:
            logger.warning("beat: Redis unreachable, sending nothing (%s)", exc)
        return self.max_interval

    def _holds_lock(self) -> bool:
        """Whether this beat may send: it holds the lock, or has just taken it."""
        if self.lock is not None:
            return True
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        # RedBeat extends the lock *to* its timeout on each tick, not by it.
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if not lock.acquire(blocking=False):
            logger.debug("beat: Another beat holds the lock; standing by")
            return False
        logger.info("beat: Acquired lock; installing the schedule")
        # Should this fail, the lock is forgotten here and expires on its own.
        super().setup_schedule()
        self.lock = lock
        return True

    def close(self):
        try:
            super().close()
        except UNREACHABLE as exc:
            # The lock then expires on its own after BEAT_LOCK_TIMEOUT seconds.
            logger.warning("beat: Could not release the lock (%s)", exc)
