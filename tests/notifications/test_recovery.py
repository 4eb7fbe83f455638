"""A message held by a dead worker goes out again within 90 s, once, with the shipped settings.

The worker and beat run on config.settings.production with nothing overridden about the sweep
(NOTIFICATIONS_SWEEP_INTERVAL, _GRACE, _CLAIM_GRACE keep their defaults), beat in a process of
its own as deployed. The worker dies while the mail server holds the message it is sending; a
new worker starts, as a restart policy would start it. bench/bench_recovery.py repeats this and
prints the distribution.
"""

import time

import pytest

from notifications.models import Notification
from tests.notifications.live import Beat, Worker, wait_until
from tests.notifications.test_live import assert_each_exactly_once, expected_ids, submit
from tests.production.stack import production_env
from tickets import services as tickets_services

pytestmark = [
    pytest.mark.live,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

BOUND = 90  # seconds: the bound for the p95 of redelivery


@pytest.fixture
def shipped(live_database, own_redis, smtp_sink, tmp_path, run_process):
    """Start workers and beat on the production settings and their defaults."""
    env = production_env(
        database_url=live_database,
        redis_url=own_redis.url,
        email_url=smtp_sink.url,
        media_root=tmp_path / "private",
        LOG_LEVEL="INFO",
    )
    assert not {k for k in env if k.startswith("NOTIFICATIONS_")}

    def worker(name: str) -> Worker:
        log_path = tmp_path / f"{name}.log"
        return run_process(Worker(env=env, log_path=log_path, name=name, concurrency=1, beat=False))

    run_process(Beat(env=env, log_path=tmp_path / "beat.log"))
    return worker


def test_a_message_held_by_a_dead_worker_is_delivered_again_within_90_s(
    world, own_redis, publish_to, shipped, smtp_sink, capsys
):
    doomed = shipped("doomed")
    publish_to(own_redis.url)
    ticket = submit(world)
    wait_until(lambda: smtp_sink.handler.count() == 1, timeout=40, what="the receipt")

    smtp_sink.handler.hold_next()
    tickets_services.ticket_take(ticket=ticket, operator=world["operator"])
    assert smtp_sink.handler.holding.wait(40), doomed.log_tail()
    doomed.kill()
    killed_at = time.time()
    # The server saw its client go: a reply now would deliver what nobody will mark sent.
    assert smtp_sink.handler.abandoned.wait(40)
    smtp_sink.handler.release.set()
    heir = shipped("heir")

    def delivered() -> bool:
        return {r.message_id for r in smtp_sink.handler.snapshot()} >= expected_ids()

    wait_until(delivered, timeout=BOUND + 30, what="the held message", detail=heir.log_tail)
    elapsed = max(r.at for r in smtp_sink.handler.snapshot()) - killed_at
    with capsys.disabled():
        print(f"\nheld message delivered again {elapsed:.1f} s after the worker was killed")
    assert elapsed <= BOUND
    time.sleep(2)  # anything sent twice would arrive now
    assert_each_exactly_once(smtp_sink)
    assert Notification.objects.filter(status=Notification.Status.SENT).count() == 2
