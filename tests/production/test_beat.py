"""Two `celery beat` at once send each periodic task once per period, and one takes over.

Two real beat processes on config.settings.production (core.beat, as shipped) share this test's
own redis-server; no worker runs, so every task they send stays in the broker's queue, where the
test counts the sweep (every second here) per time window. Two beats without the lock would send
it twice a second. When the beat that sends is killed, the other one takes over within the lock's
timeout; when Redis restarts empty, the schedule comes back and still only one beat sends.
"""

import json
import time

import pytest
import redis

from tests.notifications.live import Beat, wait_until
from tests.production.stack import production_env

pytestmark = [pytest.mark.live]

SWEEP = "notifications.tasks.notifications_sweep_task"
PERIOD = 1  # seconds between two sweeps
LOCK_TIMEOUT = 3  # BEAT_LOCK_TIMEOUT: how long a dead beat's lock outlives it
WINDOW = 8  # seconds over which the sends are counted


@pytest.fixture
def start_beat(own_redis, tmp_path, run_process):
    """Start a `celery beat` on the production settings, on this test's Redis."""
    env = production_env(
        # Beat never opens the database: nothing listens here.
        database_url="postgres://nobody@127.0.0.1:9/none",
        redis_url=own_redis.url,
        email_url="consolemail://",
        media_root=tmp_path / "private",
        LOG_LEVEL="INFO",
        NOTIFICATIONS_SWEEP_INTERVAL=str(PERIOD),
        BEAT_LOCK_TIMEOUT=str(LOCK_TIMEOUT),
    )

    def start(name: str) -> Beat:
        return run_process(Beat(env=env, log_path=tmp_path / f"beat-{name}.log"))

    return start


def sweeps_queued(url: str) -> int:
    """How many sweep messages wait in the broker's default queue."""
    client = redis.Redis.from_url(url)
    messages = client.lrange("celery", 0, -1)
    return sum(json.loads(message)["headers"]["task"] == SWEEP for message in messages)


def sends(beat: Beat) -> int:
    """How many times this beat logged sending the sweep."""
    return beat.log_path.read_text(errors="replace").count("Sending due task notifications-sweep")


def has_lock(beat: Beat) -> bool:
    return "Acquired lock" in beat.log_path.read_text(errors="replace")


def sent_during(url: str, seconds: float) -> int:
    before = sweeps_queued(url)
    time.sleep(seconds)
    return sweeps_queued(url) - before


def assert_once_per_period(count: int) -> None:
    # One beat: about WINDOW sends (the window's edges may cut one either way); two: twice that.
    assert WINDOW / PERIOD - 2 <= count <= WINDOW / PERIOD + 1, (
        f"{count} sweeps sent in {WINDOW}s, expected about {WINDOW / PERIOD}"
    )


def test_two_beats_send_each_task_once_and_the_second_takes_over(own_redis, start_beat):
    first = start_beat("first")
    wait_until(lambda: has_lock(first), timeout=30, what="the first beat to take the lock")
    second = start_beat("second")
    wait_until(
        lambda: "beat: Starting" in second.log_path.read_text(errors="replace"),
        timeout=30,
        what="the second beat to start",
    )
    time.sleep(2 * PERIOD)

    assert_once_per_period(sent_during(own_redis.url, WINDOW))
    assert sends(first) > 0
    assert sends(second) == 0
    assert not has_lock(second)

    first.kill()
    killed_at = time.monotonic()
    wait_until(lambda: has_lock(second), timeout=LOCK_TIMEOUT + 15, what="the second beat")
    # Within the lock's timeout and a tick of the standby.
    assert time.monotonic() - killed_at <= LOCK_TIMEOUT + 5
    time.sleep(PERIOD)
    assert_once_per_period(sent_during(own_redis.url, WINDOW))


def test_after_redis_restarts_empty_one_beat_installs_the_schedule_and_sends(own_redis, start_beat):
    beats = [start_beat("first")]
    wait_until(lambda: has_lock(beats[0]), timeout=30, what="the first beat to take the lock")
    beats.append(start_beat("second"))
    time.sleep(2 * PERIOD)

    own_redis.stop()
    time.sleep(3)
    # The same port, no data: no lock, no schedule, no queue.
    own_redis.start()
    wait_until(
        lambda: sweeps_queued(own_redis.url) > 0,
        timeout=LOCK_TIMEOUT + 20,
        what="a sweep sent after Redis came back",
        detail=lambda: "\n".join(beat.log_tail(15) for beat in beats),
    )
    before = [sends(beat) for beat in beats]
    assert_once_per_period(sent_during(own_redis.url, WINDOW))
    during = [sends(beat) - sent for beat, sent in zip(beats, before, strict=True)]
    assert sorted(during)[0] == 0, f"both beats sent: {during}"
    for beat in beats:
        assert beat.process.poll() is None, f"a beat exited:\n{beat.log_tail()}"
